/**
 * What one ping (and its pong) costs a server process, user and system time apart, in about a
 * minute: a tool to iterate on the heartbeat, not a scenario of `npm run bench` (its numbers are not
 * written anywhere). One server process (bench/idle-server.ts: `broker` with an app server linked,
 * or `raw-ws`, a bare ws server pinging on the same schedule, the floor) pings idle clients
 * (bench/idle-clients.ts, one child process) every `interval` ms; CPU is read from /proc over
 * `windows` windows, minus the same process's CPU over one window with no
 * client, and divided by the pings in the window (a window: whole intervals, at least 15 s). The default, 3,000 clients every 4.5 s, is the
 * rate one node of `npm run bench -- connections` sees (100,000 clients on 6 nodes, every 25 s:
 * about 670 pings a second, about 170 a 250 ms slot).
 *
 *   npx tsx --conditions=@regio/source bench/ping-cost.ts [broker|raw-ws] [clients] [interval ms] [windows]
 *
 * REGIO_BENCH_SERVER_FLAGS (bench/server-process.ts) passes Node flags to the server process, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`.
 */
import { fork } from "node:child_process";
import { setTimeout as delay } from "node:timers/promises";
import { clientPath } from "@regio/protocol";
import { browserHeaders } from "./idle-memory.ts";
import type { IdleClientCommand, IdleClientReport } from "./idle-clients.ts";
import { processCpuMs } from "./proc-usage.ts";
import { startChild, stopAll, type Child } from "./server-process.ts";

/** user and system CPU (ms) of the processes over `ms` of wall time, per second of it. */
async function cpuOver(pids: number[], ms: number): Promise<Array<{ user: number; system: number }>> {
  const from = pids.map(processCpuMs);
  const started = performance.now();
  await delay(ms);
  const seconds = (performance.now() - started) / 1000;
  return pids.map((pid, i) => {
    const to = processCpuMs(pid);
    return { user: (to.user - from[i]!.user) / seconds, system: (to.system - from[i]!.system) / seconds };
  });
}

const [role = "broker", clientsArg = "3000", intervalArg = "4500", windowsArg = "3"] = process.argv.slice(2);
const clients = Number(clientsArg);
const intervalMs = Number(intervalArg);
const windows = Number(windowsArg);
const pingsPerSecond = (clients * 1000) / intervalMs;
/** Whole intervals of at least 15 s: /proc counts CPU in 10 ms ticks. */
const windowMs = Math.ceil(15_000 / intervalMs) * intervalMs;
const SETTLE_MS = 15_000;

const children: Child[] = [];
const clientProcess = fork(new URL("./idle-clients.ts", import.meta.url).pathname, [], {
  execArgv: ["--import", "tsx"],
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
try {
  const env = { REGIO_BENCH_PING_INTERVAL: String(intervalMs) };
  const server = await startChild(role, env);
  children.push(server);
  let url: string;
  if (role === "broker") {
    children.push(await startChild("app", { ...env, REGIO_BENCH_BROKER: server.url! }));
    url = `${server.url!.replace(/^http/, "ws")}${clientPath("bench")}?EIO=4&transport=websocket`;
  } else {
    url = `${server.url!.replace(/^http/, "ws")}${server.path!}/?EIO=4&transport=websocket`;
  }
  const pids = children.map((child) => child.process.pid!);
  const names = children.map((_, i) => (i === 0 ? role : "app"));
  // Let start-up (V8's compilers, the app link) settle before the baseline.
  await delay(SETTLE_MS);
  const idle = await cpuOver(pids, windowMs);
  const report = await new Promise<IdleClientReport>((resolve) => {
    clientProcess.once("message", resolve);
    const command: IdleClientCommand = {
      type: "connect",
      url,
      count: clients,
      localAddress: "127.0.0.10",
      headers: browserHeaders(),
    };
    clientProcess.send(command);
  });
  console.log(`${role}: ${report.connected} connected, ${report.failed} failed ${report.firstError ?? ""}`);
  // One interval for the connects' burst to turn into the steady pings.
  await delay(intervalMs);
  for (let w = 0; w < windows; w++) {
    const loaded = await cpuOver(pids, windowMs);
    const line = loaded.map((cpu, i) => {
      const user = ((cpu.user - idle[i]!.user) * 1000) / pingsPerSecond;
      const system = ((cpu.system - idle[i]!.system) * 1000) / pingsPerSecond;
      return `${names[i]} ${(user + system).toFixed(1)} µs/ping (user ${user.toFixed(1)}, sys ${system.toFixed(1)}; ${((cpu.user + cpu.system) / 10).toFixed(2)} % of a core, idle ${((idle[i]!.user + idle[i]!.system) / 10).toFixed(2)} %)`;
    });
    console.log(`window ${w + 1}: ${line.join(" | ")}`);
  }
} finally {
  clientProcess.kill();
  await stopAll(children);
}
