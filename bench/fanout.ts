/**
 * Broadcast fan-out: server CPU per delivered message, measured in one run for plain socket.io,
 * Regio (a broker and an app server in one process, so Regio pays for both) and the raw `ws`
 * ceiling. The server runs in a child process (bench/fanout-server.ts) and only its CPU is counted,
 * from the first emit until every client has received every message.
 *
 * `fanout` is one run with socket.io-client clients in this process (the tracing scenario's);
 * `fanoutSweep` measures every server at each audience size with the lighter clients of
 * bench/fanout-clients.ts, spread over several processes and source addresses.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import type { ClientCommand, ClientReport } from "./fanout-clients.ts";

/** "regio": broker and app server in processes of their own, as deployed, their CPU summed. */
export type FanoutServer = "plain" | "regio" | "regio-one-process" | "ws";

export interface FanoutResult {
  mode: FanoutServer;
  /** Share of broadcasts traced (app server and broker), or undefined: no OpenTelemetry at all. */
  traced?: number;
  clients: number;
  messages: number;
  perTick: number;
  deliveries: number;
  serverCpuMs: number;
  deliveriesPerCpuSecond: number;
}

/** @regio/* from their sources, as every script of the repository (docs/adr/0008). */
const TSX = ["--conditions=@regio/source", "--import", "tsx"];

interface ServerProcess {
  url: string;
  path: string;
  /** Starts `messages` broadcasts of `size` bytes, `perTick` per tick; its CPU counts from here. */
  go(messages: number, size: number, perTick: number): Promise<void>;
  /** CPU ms the server used since the last `go`. */
  cpuMs(): Promise<number>;
  /** Rejects if the server exits before `stop`: a run waiting for its deliveries must not hang. */
  died: Promise<never>;
  stop(): Promise<void>;
}

async function startServer(mode: FanoutServer, env: Record<string, string> = {}): Promise<ServerProcess> {
  // REGIO_BENCH_SERVER_FLAGS: Node flags for the server alone, to profile it (say, --cpu-prof).
  const flags = process.env.REGIO_BENCH_SERVER_FLAGS?.split(" ").filter(Boolean) ?? [];
  const server = spawn(
    process.execPath,
    [...flags, ...TSX, new URL("./fanout-server.ts", import.meta.url).pathname, mode],
    {
      env: { ...process.env, REGIO_LOG_LEVEL: "silent", ...env },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let stopping = false;
  const died = new Promise<never>((_, reject) =>
    server.once("exit", (code) => {
      if (!stopping) reject(new Error(`bench server (${mode}) exited with ${code}`));
    }),
  );
  died.catch(() => {});
  const stop = async () => {
    stopping = true;
    if (server.exitCode !== null || server.signalCode !== null) return;
    // It flushes what it traced before it exits: every span counts against the run that made it.
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill();
    await exited;
  };
  try {
    const { url, path, control } = await new Promise<{ url: string; path: string; control: string }>(
      (resolve, reject) => {
        let out = "";
        server.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes("\n")) resolve(JSON.parse(out.slice(0, out.indexOf("\n"))));
        });
        server.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
      },
    );
    return {
      url,
      path,
      async go(messages, size, perTick) {
        await fetch(`${control}/go?messages=${messages}&size=${size}&perTick=${perTick}`, { method: "POST" });
      },
      async cpuMs() {
        return ((await (await fetch(`${control}/cpu`, { method: "POST" })).json()) as { cpuMs: number })
          .cpuMs;
      },
      died,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function fanout(
  mode: "plain" | "regio" | "regio-one-process",
  clients = 200,
  messages = 200,
  size = 100,
  perTick = 50,
  /**
   * Trace this share of broadcasts, exporting over OTLP to `tracing.sink` (regio mode only): in the
   * app server (its own OpenTelemetry SDK) and, unless `broker` is false, in the broker too.
   */
  tracing?: { ratio: number; sink: string; broker?: boolean },
): Promise<FanoutResult> {
  const otel: Record<string, string> = tracing
    ? {
        REGIO_BENCH_TRACE: "1",
        ...(tracing.broker === false ? {} : { OTEL_TRACES_EXPORTER: "otlp" }),
        OTEL_EXPORTER_OTLP_ENDPOINT: tracing.sink,
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: String(tracing.ratio),
      }
    : {};
  const server = await startServer(mode, otel);
  const sockets: ClientSocket[] = [];
  try {
    let received = 0;
    const total = clients * messages;
    let allReceived: () => void = () => {};
    const done = new Promise<void>((resolve) => (allReceived = resolve));
    for (let i = 0; i < clients; i++) {
      const socket = connectClient(server.url, {
        path: server.path,
        transports: ["websocket"],
        forceNew: true,
      });
      socket.on("m", () => {
        if (++received === total) allReceived();
      });
      sockets.push(socket);
    }
    await Promise.all(
      sockets.map(
        (s) => new Promise<void>((resolve) => (s.connected ? resolve() : s.once("connect", () => resolve()))),
      ),
    );
    await server.go(messages, size, perTick);
    await done;
    const cpuMs = await server.cpuMs();
    return {
      mode,
      traced: tracing?.ratio,
      clients,
      messages,
      perTick,
      deliveries: total,
      serverCpuMs: cpuMs,
      deliveriesPerCpuSecond: total / (cpuMs / 1000),
    };
  } finally {
    sockets.forEach((s) => s.disconnect());
    await server.stop();
  }
}

/** A share of the audience in a process of its own (bench/fanout-clients.ts). */
class ClientProcess {
  private readonly child: ChildProcess;
  private readonly reports: Array<(report: ClientReport) => void> = [];
  /** Events its clients must have received in all, after the bursts so far. */
  private events = 0;

  constructor(readonly clients: number) {
    this.child = fork(new URL("./fanout-clients.ts", import.meta.url).pathname, [], { execArgv: TSX });
    this.child.on("message", (report: ClientReport) => this.reports.shift()?.(report));
    // A client process that dies fails what waits for it, instead of leaving the run hanging.
    this.child.once("exit", (code) => {
      for (const waiting of this.reports.splice(0)) waiting({ type: "failed", error: `exited with ${code}` });
    });
  }

  async connect(url: string, localAddress: string): Promise<void> {
    await this.ask({ type: "connect", url, count: this.clients, localAddress });
  }

  /** Resolves once each of its clients has received `messages` more events. */
  async received(messages: number): Promise<void> {
    this.events += messages * this.clients;
    await this.ask({ type: "expect", events: this.events });
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    if (this.child.exitCode === null) this.child.send({ type: "close" } satisfies ClientCommand);
    await exited;
  }

  private ask(command: ClientCommand): Promise<void> {
    return new Promise((resolve, reject) => {
      this.reports.push((report) =>
        report.type === "failed" ? reject(new Error(`bench clients: ${report.error}`)) : resolve(),
      );
      this.child.send(command);
    });
  }
}

/** Up to 2,500 clients per process (each process's descriptors, and a share of the ports of its address). */
const CLIENTS_PER_PROCESS = 2500;

export interface SweepOptions {
  servers: FanoutServer[];
  audiences: number[];
  perTicks: number[];
  size: number;
  /** Broadcasts per run for an audience: enough deliveries for a CPU figure, few enough to be quick. */
  messagesFor(clients: number, server: FanoutServer, perTick: number): number;
  /** Called after each run (a progress line). */
  onResult?(result: FanoutResult): void;
}

/**
 * Every server at every audience size and broadcasts per tick. Each server starts once per audience
 * (its clients connect once) and runs every broadcasts-per-tick figure; before each measured run a
 * tenth of it warms the JIT up, uncounted.
 */
export async function fanoutSweep(options: SweepOptions): Promise<FanoutResult[]> {
  const results: FanoutResult[] = [];
  for (const clients of options.audiences) {
    for (const mode of options.servers) {
      const server = await startServer(mode);
      const processes: ClientProcess[] = [];
      for (let left = clients; left > 0; left -= CLIENTS_PER_PROCESS) {
        processes.push(new ClientProcess(Math.min(CLIENTS_PER_PROCESS, left)));
      }
      try {
        const ws = `${server.url.replace(/^http/, "ws")}${server.path}/?EIO=4&transport=websocket`;
        await Promise.race([
          Promise.all(processes.map((p, i) => p.connect(ws, `127.0.0.${10 + i}`))),
          server.died,
        ]);
        const burst = async (messages: number, perTick: number) => {
          const received = Promise.all(processes.map((p) => p.received(messages)));
          await server.go(messages, options.size, perTick);
          await Promise.race([received, server.died]);
        };
        for (const perTick of options.perTicks) {
          const messages = options.messagesFor(clients, mode, perTick);
          await burst(Math.max(perTick, Math.round(messages / 10)), perTick);
          await burst(messages, perTick);
          const serverCpuMs = await server.cpuMs();
          const deliveries = clients * messages;
          const result: FanoutResult = {
            mode,
            clients,
            messages,
            perTick,
            deliveries,
            serverCpuMs,
            deliveriesPerCpuSecond: deliveries / (serverCpuMs / 1000),
          };
          results.push(result);
          options.onResult?.(result);
        }
      } finally {
        await Promise.all(processes.map((p) => p.close()));
        await server.stop();
      }
    }
  }
  return results;
}
