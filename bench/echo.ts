/**
 * Client -> app -> client: a socket.io-client emits "echo" and waits for the ack, through plain
 * socket.io or through Regio (a broker node and an app server, separate processes, as deployed).
 * One at a time (latency), then 50 in flight (latency under load, throughput, server CPU per echo),
 * measured after a warm-up at 50 in flight.
 */
import { performance } from "node:perf_hooks";
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import { measure, startChild, stopAll, type Child } from "./server-process.ts";

export interface EchoResult {
  mode: "plain" | "regio";
  sequential: { p50Ms: number; p99Ms: number };
  inFlight: {
    concurrency: number;
    p50Ms: number;
    p99Ms: number;
    perSecond: number;
    cpuMicrosPerEcho: number;
    /** The server processes' read and write system calls per echo (Linux only, else 0). */
    syscallsPerEcho: number;
  };
}

const WARM_UP = 500;
const SEQUENTIAL = 2_000;
const IN_FLIGHT = 50;
/**
 * Not counted: the servers' code is compiled by then. Regio's path (two processes, more code per
 * echo) takes V8 longer to optimise than plain socket.io's: after 10,000, 30,000 and 60,000 echoes
 * its CPU per echo was 1.77, 1.40 and 1.13 times plain's, which stays flat from 10,000 on
 * (bench/echo-cost.ts, one run each). What a long-running server pays is the steady state.
 */
export const IN_FLIGHT_WARM_UP = 60_000;
export const IN_FLIGHT_TOTAL = 50_000;
const PAYLOAD = "x".repeat(100);

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

async function echoOnce(client: ClientSocket): Promise<number> {
  const started = performance.now();
  await client.timeout(10_000).emitWithAck("echo", PAYLOAD);
  return performance.now() - started;
}

/** `total` echoes, `concurrency` of them outstanding at any time; their round trips, in ms. */
export async function echoes(client: ClientSocket, total: number, concurrency: number): Promise<number[]> {
  const times: number[] = [];
  let started = 0;
  const lane = async () => {
    while (started < total) {
      started++;
      times.push(await echoOnce(client));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return times;
}

async function usage(children: Child[]): Promise<{ cpuMicros: number; syscalls: number }> {
  const measurements = await Promise.all(children.map((child) => measure(child, "cpu")));
  return {
    cpuMicros: measurements.reduce((sum, m) => sum + m.cpuMicros, 0),
    syscalls: measurements.reduce((sum, m) => sum + m.syscalls, 0),
  };
}

export async function echo(mode: "plain" | "regio"): Promise<EchoResult> {
  const children: Child[] = [];
  let client: ClientSocket | undefined;
  try {
    let url: string;
    let path: string;
    if (mode === "plain") {
      const plain = await startChild("plain");
      children.push(plain);
      [url, path] = [plain.url!, plain.path!];
    } else {
      const broker = await startChild("broker");
      children.push(broker);
      const app = await startChild("app", { REGIO_BENCH_BROKER: broker.url! });
      children.push(app);
      [url, path] = [broker.url!, app.path!];
    }
    client = connectClient(url, { path, transports: ["websocket"], forceNew: true, reconnection: false });
    await new Promise<void>((resolve, reject) => {
      client!.once("connect", resolve);
      client!.once("connect_error", reject);
    });
    await echoes(client, WARM_UP, 1);
    const sequential = (await echoes(client, SEQUENTIAL, 1)).sort((a, b) => a - b);
    await echoes(client, IN_FLIGHT_WARM_UP, IN_FLIGHT);
    const before = await usage(children);
    const wallBefore = performance.now();
    const loaded = (await echoes(client, IN_FLIGHT_TOTAL, IN_FLIGHT)).sort((a, b) => a - b);
    const wallMs = performance.now() - wallBefore;
    const after = await usage(children);
    return {
      mode,
      sequential: { p50Ms: percentile(sequential, 0.5), p99Ms: percentile(sequential, 0.99) },
      inFlight: {
        concurrency: IN_FLIGHT,
        p50Ms: percentile(loaded, 0.5),
        p99Ms: percentile(loaded, 0.99),
        perSecond: IN_FLIGHT_TOTAL / (wallMs / 1000),
        cpuMicrosPerEcho: (after.cpuMicros - before.cpuMicros) / IN_FLIGHT_TOTAL,
        syscallsPerEcho: (after.syscalls - before.syscalls) / IN_FLIGHT_TOTAL,
      },
    };
  } finally {
    client?.disconnect();
    await stopAll(children);
  }
}
