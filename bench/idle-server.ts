/**
 * Child process of bench/idle-memory.ts and bench/echo.ts: one server process, so that its heap,
 * RSS and CPU are its own; every socket answers "echo" with an ack of what it carried. `plain`: a socket.io Server on an HTTP server. `broker`: a Regio broker node. `app`: an app
 * server linked to the broker at REGIO_BENCH_BROKER. `broker-with-app`: both in this one process
 * (bench/echo-cost.ts). `raw-ws`: bench/raw-ws-server.ts. Prints one JSON line (`{url, path, control}`);
 * `GET control/measure` answers heap (after two full collections: run with --expose-gc), RSS and
 * the CPU time used so far; `GET control/cpu` the same without collecting first.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { writeHeapSnapshot } from "node:v8";
import { Server, type Socket } from "socket.io";
import { startBroker } from "@regio/broker";
import { useRegio } from "@regio/sdk";
import { clientPath, formatConnectionString } from "@regio/protocol";
import { BENCH_ACCESS_KEY } from "./server-process.ts";
import { startRawWsServer } from "./raw-ws-server.ts";

export interface Measurement {
  heapUsed: number;
  rss: number;
  cpuMicros: number;
  /** Read and write system calls so far (Linux's /proc/self/io; 0 elsewhere). */
  syscalls: number;
}

/** Each write to an idle peer process wakes it, which costs both: bench/echo.ts counts them. */
function syscalls(): number {
  try {
    const io = readFileSync("/proc/self/io", "utf8");
    return ["syscr", "syscw"].reduce(
      (sum, key) => sum + Number(new RegExp(`${key}: (\\d+)`).exec(io)?.[1] ?? 0),
      0,
    );
  } catch {
    return 0;
  }
}

/** bench/echo.ts: every "echo" is acknowledged with what it carried. */
function answerEchoes(socket: Socket): void {
  socket.on("echo", (value: unknown, ack: (value: unknown) => void) => ack(value));
}

async function listen(server: ReturnType<typeof createServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An app server answering echoes, linked to the broker node at `brokerUrl`; its clients' path. */
async function serveApp(brokerUrl: string): Promise<string> {
  const io = new Server();
  io.on("connection", answerEchoes);
  const connectionString = formatConnectionString(brokerUrl, BENCH_ACCESS_KEY);
  await useRegio(io, { hub: "bench", connectionString }).whenReady(30_000);
  return clientPath("bench");
}

async function serve(role: string): Promise<{ url?: string; path?: string }> {
  switch (role) {
    case "plain": {
      const http = createServer();
      new Server(http).on("connection", answerEchoes);
      return { url: await listen(http), path: "/socket.io" };
    }
    case "broker": {
      // REGIO_BENCH_PING_INTERVAL (ms): bench/ping-cost.ts pings more often than the default 25 s.
      const pingInterval = Number(process.env.REGIO_BENCH_PING_INTERVAL) || undefined;
      const broker = await startBroker({ accessKey: BENCH_ACCESS_KEY, port: 0, pingInterval });
      return { url: broker.url };
    }
    case "app":
      return { path: await serveApp(process.env.REGIO_BENCH_BROKER!) };
    case "broker-with-app": {
      // Still linked over a WebSocket on 127.0.0.1: what a second process costs, without the process.
      const broker = await startBroker({ accessKey: BENCH_ACCESS_KEY, port: 0 });
      return { url: broker.url, path: await serveApp(broker.url) };
    }
    case "raw-ws": {
      // bench/heap-breakdown.ts: what a bare ws server keeps per connection (the floor under engine.io).
      const raw = await startRawWsServer(Number(process.env.REGIO_BENCH_PING_INTERVAL) || undefined);
      return { url: raw.url, path: raw.path };
    }
    default:
      throw new Error(`unknown role ${role}`);
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");

const served = await serve(process.argv[2] ?? "");
const control = createServer((req, res) => {
  // Collected first for heap figures; never for CPU ones (a full collection costs CPU itself).
  if (req.url === "/snapshot") return void res.end(JSON.stringify({ file: writeHeapSnapshot() }));
  if (req.url === "/measure") {
    gc();
    gc();
  }
  const cpu = process.cpuUsage();
  const measurement: Measurement = {
    heapUsed: process.memoryUsage().heapUsed,
    rss: process.memoryUsage.rss(),
    cpuMicros: cpu.user + cpu.system,
    syscalls: syscalls(),
  };
  res.end(JSON.stringify(measurement));
});
process.stdout.write(JSON.stringify({ ...served, control: await listen(control) }) + "\n");
// An orderly exit on SIGTERM (stopAll's signal), so that a --cpu-prof profile gets written.
process.once("SIGTERM", () => process.exit(0));
