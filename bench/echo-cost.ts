/**
 * Where an echo's server CPU goes, process by process, user and system time apart: a tool to
 * iterate on the echo path, not a scenario of `npm run bench` (docs/benchmarks.md quotes its
 * numbers). One socket.io-client (this process) keeps `concurrency` echoes in flight, as
 * bench/echo.ts does, through plain socket.io, Regio as deployed (a broker node and an app server,
 * two processes) and Regio in one process (the same two, still linked over a WebSocket on
 * 127.0.0.1). After `warm-up` echoes, `echoes` more are measured from /proc: each process's user
 * and system CPU and its read and write system calls, per echo. The machine is noisy: rounds
 * alternate the servers, and the client's own CPU (the same work whatever the server) shows how
 * fast the machine was in each.
 *
 *   npx tsx --conditions=@regio/source bench/echo-cost.ts [rounds] [echoes] [warm-up] [concurrency]
 */
import { io as connectClient } from "socket.io-client";
import { echoes } from "./echo.ts";
import { processCpuMs, processSyscalls } from "./proc-usage.ts";
import { startChild, stopAll, type Child } from "./server-process.ts";

type Server = "plain" | "regio" | "regio-one-process";

const [roundsArg = "3", totalArg = "100000", warmUpArg = "30000", concurrencyArg = "50"] =
  process.argv.slice(2);
const total = Number(totalArg);

/** The server's processes, named, and where its clients connect. */
async function start(
  server: Server,
): Promise<{ processes: Array<[string, Child]>; url: string; path: string }> {
  if (server === "plain") {
    const plain = await startChild("plain");
    return { processes: [["plain", plain]], url: plain.url!, path: plain.path! };
  }
  if (server === "regio-one-process") {
    const both = await startChild("broker-with-app");
    return { processes: [["broker+app", both]], url: both.url!, path: both.path! };
  }
  const broker = await startChild("broker");
  const app = await startChild("app", { REGIO_BENCH_BROKER: broker.url! });
  return {
    processes: [
      ["broker", broker],
      ["app", app],
    ],
    url: broker.url!,
    path: app.path!,
  };
}

function usage(pid: number): { user: number; system: number; syscalls: number } {
  const { reads, writes } = processSyscalls(pid);
  return { ...processCpuMs(pid), syscalls: reads + writes };
}

async function measure(server: Server): Promise<string> {
  const { processes, url, path } = await start(server);
  const client = connectClient(url, { path, transports: ["websocket"], forceNew: true, reconnection: false });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once("connect", resolve);
      client.once("connect_error", reject);
    });
    await echoes(client, Number(warmUpArg), Number(concurrencyArg));
    const named: Array<[string, number]> = [
      ["client", process.pid],
      ...processes.map(([name, child]): [string, number] => [name, child.process.pid!]),
    ];
    const before = named.map(([, pid]) => usage(pid));
    const started = performance.now();
    await echoes(client, total, Number(concurrencyArg));
    const seconds = (performance.now() - started) / 1000;
    const perEcho = (ms: number) => ((ms * 1000) / total).toFixed(1);
    const parts = named.map(([name, pid], i) => {
      const after = usage(pid);
      const from = before[i]!;
      const syscalls = ((after.syscalls - from.syscalls) / total).toFixed(2);
      return `${name} user ${perEcho(after.user - from.user)} system ${perEcho(after.system - from.system)} syscalls ${syscalls}`;
    });
    return `${server.padEnd(17)} ${Math.round(total / seconds)} echoes/s; µs per echo: ${parts.join("; ")}`;
  } finally {
    client.disconnect();
    await stopAll(processes.map(([, child]) => child));
  }
}

for (let round = 1; round <= Number(roundsArg); round++) {
  for (const server of ["plain", "regio", "regio-one-process"] as const) {
    console.log(`round ${round}: ${await measure(server)}`);
  }
}
