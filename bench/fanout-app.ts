/**
 * The app server of the fan-out benchmark: a socket.io Server that broadcasts `perTick` messages a
 * tick (bench/fanout-server.ts drives it). In mode "regio" it runs in a process of its own, as
 * deployed, linked to the broker of its parent (bench/fanout-server.ts), which counts this process's
 * CPU with its own; in "regio-one-process" and "plain" it runs in the server's process.
 *
 * With REGIO_BENCH_TRACE=1 the app traces with an OpenTelemetry SDK of its own (the sampler and
 * OTLP exporter of the OTEL_* variables), each broadcast emitted inside a span of the app's.
 */
import { trace, type Tracer } from "@opentelemetry/api";
import { Server } from "socket.io";
import { useRegio } from "@regio/sdk";
import { formatConnectionString } from "@regio/protocol";

export const BENCH_HUB = "bench";
export const FANOUT_ACCESS_KEY = "bench-access-key-of-at-least-32-bytes";

export interface BenchApp {
  io: Server;
  /** Emits `messages` broadcasts of `size` bytes, `perTick` of them in each turn of the event loop. */
  broadcast(messages: number, size: number, perTick: number): Promise<void>;
  /** Exports what was traced, unlinks. */
  close(): Promise<void>;
}

export async function startBenchApp(brokerUrl?: string): Promise<BenchApp> {
  const io = new Server();
  const regio = brokerUrl
    ? useRegio(io, { hub: BENCH_HUB, connectionString: formatConnectionString(brokerUrl, FANOUT_ACCESS_KEY) })
    : undefined;
  await regio?.ready;
  const tracing = process.env.REGIO_BENCH_TRACE ? await startAppTracing() : undefined;
  const emit = (payload: string) => io.emit("m", payload);
  const tracedEmit = (tracer: Tracer) => (payload: string) =>
    tracer.startActiveSpan("publish", (span) => {
      emit(payload);
      span.end();
    });
  const send = tracing ? tracedEmit(tracing.tracer) : emit;
  return {
    io,
    async broadcast(messages, size, perTick) {
      const payload = "x".repeat(size);
      for (let sent = 0; sent < messages; sent += perTick) {
        for (let i = 0; i < Math.min(perTick, messages - sent); i++) send(payload);
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    async close() {
      await tracing?.flush();
      await regio?.close();
    },
  };
}

async function startAppTracing(): Promise<{ tracer: Tracer; flush(): Promise<void> }> {
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
  const { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } =
    await import("@opentelemetry/sdk-trace-base");
  const { NodeTracerProvider } = await import("@opentelemetry/sdk-trace-node");
  const ratio = Number(process.env.OTEL_TRACES_SAMPLER_ARG);
  const provider = new NodeTracerProvider({
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  return { tracer: trace.getTracer("bench-app"), flush: () => provider.shutdown() };
}

/** What the server process asks of an app server in a process of its own. */
export type AppCommand =
  { type: "go"; messages: number; size: number; perTick: number } | { type: "cpu" } | { type: "close" };
export type AppReply =
  { type: "ready" } | { type: "started" } | { type: "cpu"; cpuMs: number } | { type: "closed" };

// Run as a child process (forked by bench/fanout-server.ts with the broker's URL): serve commands.
if (process.send && process.argv[2]) {
  const app = await startBenchApp(process.argv[2]);
  let start = process.cpuUsage();
  const reply = (message: AppReply) => process.send!(message);
  process.on("message", (command: AppCommand) => {
    if (command.type === "go") {
      start = process.cpuUsage();
      reply({ type: "started" });
      void app.broadcast(command.messages, command.size, command.perTick);
    } else if (command.type === "cpu") {
      const used = process.cpuUsage(start);
      reply({ type: "cpu", cpuMs: (used.user + used.system) / 1000 });
    } else {
      void app.close().then(() => {
        reply({ type: "closed" });
        process.exit(0);
      });
    }
  });
  // The parent gone (killed): nothing left to serve.
  process.once("disconnect", () => process.exit(0));
  reply({ type: "ready" });
}
