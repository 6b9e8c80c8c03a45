/**
 * Many idle clients on one machine: one region of several broker nodes (`regio broker` processes,
 * each under the per-process descriptor limit) over one Kafka, one app server linked to the region,
 * and idle WebSocket clients with a browser's headers in child processes, each connecting to one node
 * from its own 127.0.0.x address. Reports how many got in, the nodes' and app server's memory, and the
 * CPU their pings cost over one ping interval (read from /proc: Linux).
 *
 * `npm run bench -- connections` runs it at full size (100,000 clients on 6 nodes, about 8 minutes,
 * the whole machine). To iterate on a smaller region without writing docs/benchmarks.md:
 *
 *   npx tsx --conditions=@regio/source bench/connections.ts [clients] [nodes]
 *
 * prints the result as JSON, with the nodes' CPU per ping in µs (e.g. `33000 2`: the per-node load
 * of the full run in about 3 minutes; what depends on the region's size, such as each node's view
 * of every socket, is smaller).
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { setTimeout as delay } from "node:timers/promises";
import { clientPath } from "@regio/protocol";
import { startKafka, type KafkaHandle } from "@regio/dev-kafka";
import { killNode, startCliNode, type CliNode } from "../test/support/cli-node.ts";
import { servesHub } from "../test/support/broker-process.ts";
import { until } from "../test/support/events.ts";
import { browserHeaders } from "./idle-memory.ts";
import type { IdleClientCommand, IdleClientReport } from "./idle-clients.ts";
import { BENCH_ACCESS_KEY, measure, startChild, stopAll, type Child } from "./server-process.ts";

export interface ConnectionsResult {
  clients: number;
  connected: number;
  failed: number;
  firstError?: string;
  nodes: number;
  /** Resident memory of all nodes, and of the app server, per connected client (bytes). */
  nodeRssPerClient: number;
  appRssPerClient: number;
  appHeapPerClient: number;
  /** CPU the clients add to the nodes and the app server over one ping interval, as a share of one core. */
  nodePingCpuShare: number;
  appPingCpuShare: number;
  connectSeconds: number;
  /** CPU of the nodes and app server with no client, as a share of one core (the baseline). */
  idleCpuShare: number;
  /** The same over the first interval after start (the baseline of runs before 2026-11-28 02:00). */
  firstIdleCpuShare: number;
}

const PING_INTERVAL_MS = 25_000;
const HUB = "bench";
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** A process's CPU (user + system) so far in seconds, and its resident memory in bytes. */
function procStats(pid: number): { cpuSeconds: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces), from field 3 on.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  return { cpuSeconds, rss: rssKb * 1024 };
}

function nodesStats(nodes: CliNode[]): { cpuSeconds: number; rss: number } {
  return nodes
    .map((node) => procStats(node.child.pid!))
    .reduce((sum, s) => ({ cpuSeconds: sum.cpuSeconds + s.cpuSeconds, rss: sum.rss + s.rss }));
}

/** CPU of the nodes (together) and of the app server over one ping interval, as shares of one core. */
async function cpuOverPingInterval(nodes: CliNode[], app: Child): Promise<{ nodes: number; app: number }> {
  const appCpu = async () => (await measure(app, "cpu")).cpuMicros / 1e6;
  const from = { nodes: nodesStats(nodes).cpuSeconds, app: await appCpu() };
  const started = Date.now();
  await delay(PING_INTERVAL_MS);
  const seconds = (Date.now() - started) / 1000;
  return {
    nodes: (nodesStats(nodes).cpuSeconds - from.nodes) / seconds,
    app: ((await appCpu()) - from.app) / seconds,
  };
}

function connectClients(client: ChildProcess, command: IdleClientCommand): Promise<IdleClientReport> {
  return new Promise((resolve, reject) => {
    client.once("message", (report: IdleClientReport) => resolve(report));
    client.once("exit", (code) => reject(new Error(`a client process exited with ${code}`)));
    client.send(command);
  });
}

export async function manyConnections(clients = 100_000, nodeCount = 6): Promise<ConnectionsResult> {
  const dataDir = mkdtempSync(join(tmpdir(), "regio-bench-connections-"));
  let kafka: KafkaHandle | undefined;
  const nodes: CliNode[] = [];
  const apps: Child[] = [];
  const clientProcesses: ChildProcess[] = [];
  try {
    kafka = await startKafka({ port: 0, dataDir });
    // startCliNode waits for the node's "broker listening" line, logged at info.
    const env = { REGIO_ACCESS_KEY: BENCH_ACCESS_KEY, REGIO_LOG_LEVEL: "info" };
    // One after the other: nodes that start together on new topics can trip over each other.
    for (let i = 1; i <= nodeCount; i++) {
      nodes.push(
        await startCliNode(`n${i}`, ["--port=0", "--region=local", `--kafka=${kafka.brokers}`], env),
      );
    }
    const app = await startChild("app", { REGIO_BENCH_BROKER: nodes[0]!.url });
    apps.push(app);
    for (const node of nodes)
      await until(() => servesHub(node.url, HUB), `${node.nodeId} serves the hub`, 30_000);

    // What the nodes and the app server cost with no client at all (Kafka polls, heartbeats, timers),
    // over the same interval: the pings' cost is what clients add to it.
    // The first interval after start costs more (V8 compiling, Kafka's first fetches and group
    // joins): 2 nodes measured 9.6, 8.6, 7.4 and 7.4 % of a core in four intervals in a row. The
    // baseline is the second one; the first is reported too (earlier runs subtracted it).
    const firstIdle = await cpuOverPingInterval(nodes, app);
    const idle = await cpuOverPingInterval(nodes, app);
    const nodesBefore = nodesStats(nodes);
    const appBefore = await measure(app, "measure");
    const connectStarted = Date.now();
    const perNode = Math.ceil(clients / nodeCount);
    const reports = await Promise.all(
      nodes.map((node, i) => {
        const child = fork(new URL("./idle-clients.ts", import.meta.url).pathname, [], {
          execArgv: ["--import", "tsx"],
          stdio: ["ignore", "inherit", "inherit", "ipc"],
        });
        clientProcesses.push(child);
        const url = `${node.url.replace(/^http/, "ws")}${clientPath(HUB)}?EIO=4&transport=websocket`;
        const count = Math.min(perNode, clients - i * perNode);
        return connectClients(child, {
          type: "connect",
          url,
          count,
          localAddress: `127.0.0.${10 + i}`,
          headers: browserHeaders(),
        });
      }),
    );
    const connectSeconds = (Date.now() - connectStarted) / 1000;
    const connected = reports.reduce((sum, r) => sum + r.connected, 0);
    const failed = reports.reduce((sum, r) => sum + r.failed, 0);

    const nodesLoaded = nodesStats(nodes);
    const appLoaded = await measure(app, "measure");
    const loaded = await cpuOverPingInterval(nodes, app);
    const per = (bytes: number) => bytes / Math.max(1, connected);
    return {
      clients,
      connected,
      failed,
      firstError: reports.find((r) => r.firstError)?.firstError,
      nodes: nodeCount,
      nodeRssPerClient: per(nodesLoaded.rss - nodesBefore.rss),
      appRssPerClient: per(appLoaded.rss - appBefore.rss),
      appHeapPerClient: per(appLoaded.heapUsed - appBefore.heapUsed),
      nodePingCpuShare: loaded.nodes - idle.nodes,
      appPingCpuShare: loaded.app - idle.app,
      idleCpuShare: idle.nodes + idle.app,
      firstIdleCpuShare: firstIdle.nodes + firstIdle.app,
      connectSeconds,
    };
  } finally {
    for (const child of clientProcesses) child.kill();
    await stopAll(apps);
    await Promise.all(nodes.map(killNode));
    await kafka?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [clients = "33000", nodeCount = "2"] = process.argv.slice(2);
  const result = await manyConnections(Number(clients), Number(nodeCount));
  const pingsPerSecond = result.connected / (PING_INTERVAL_MS / 1000);
  console.log(
    JSON.stringify(
      {
        ...result,
        nodeMicrosPerPing: (result.nodePingCpuShare * 1e6) / pingsPerSecond,
        appMicrosPerPing: (result.appPingCpuShare * 1e6) / pingsPerSecond,
      },
      null,
      2,
    ),
  );
}
