/**
 * Broadcast fan-out: server CPU per delivered message, Regio (a broker and an app server in one
 * process) against plain socket.io, measured in one run. N WebSocket clients in this process; the
 * server process emits M broadcasts of `size` bytes, `perTick` per event-loop tick; its CPU is
 * counted from the first emit until every client has received every message.
 */
import { spawn } from "node:child_process";
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";

export interface FanoutResult {
  mode: "plain" | "regio";
  /** Share of broadcasts traced (app server and broker), or undefined: no OpenTelemetry at all. */
  traced?: number;
  clients: number;
  messages: number;
  perTick: number;
  deliveries: number;
  serverCpuMs: number;
  deliveriesPerCpuSecond: number;
}

export async function fanout(
  mode: "plain" | "regio",
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
  const otel = tracing
    ? {
        REGIO_BENCH_TRACE: "1",
        ...(tracing.broker === false ? {} : { OTEL_TRACES_EXPORTER: "otlp" }),
        OTEL_EXPORTER_OTLP_ENDPOINT: tracing.sink,
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: String(tracing.ratio),
      }
    : {};
  const server = spawn(
    process.execPath,
    // @regio/* from their sources, as every script of the repository (docs/adr/0008).
    [
      "--conditions=@regio/source",
      "--import",
      "tsx",
      new URL("./fanout-server.ts", import.meta.url).pathname,
      mode,
    ],
    {
      env: { ...process.env, REGIO_LOG_LEVEL: "silent", ...otel },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const sockets: ClientSocket[] = [];
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
    let received = 0;
    const total = clients * messages;
    let allReceived: () => void = () => {};
    const done = new Promise<void>((resolve) => (allReceived = resolve));
    for (let i = 0; i < clients; i++) {
      const socket = connectClient(url, { path, transports: ["websocket"], forceNew: true });
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
    await fetch(`${control}/go?messages=${messages}&size=${size}&perTick=${perTick}`, { method: "POST" });
    await done;
    const { cpuMs } = (await (await fetch(`${control}/cpu`, { method: "POST" })).json()) as { cpuMs: number };
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
    // It flushes what it traced before it exits: every span counts against the run that made it.
    const exited = new Promise((resolve) => server.once("exit", resolve));
    if (server.exitCode === null && server.signalCode === null) server.kill();
    await exited;
  }
}
