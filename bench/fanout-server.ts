/**
 * Child process of bench/fanout.ts: the server side only (plain socket.io, a Regio broker plus an
 * app server using it, or the raw `ws` ceiling of bench/raw-ws-server.ts), so that its CPU time is
 * measured apart from the clients'. It prints one
 * JSON line `{url, path, control}` and is driven over HTTP on `control`:
 * POST /go?messages=&size=&perTick= starts the broadcasts; POST /cpu answers the CPU ms used since.
 *
 * With REGIO_BENCH_TRACE=1 both sides trace, as configured by the OTEL_* variables: the broker from
 * them (as `regio broker` does), the app server with an OpenTelemetry SDK of its own (the same
 * sampler and OTLP exporter), each broadcast emitted inside a span of the app's.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { trace, type Tracer } from "@opentelemetry/api";
import { Server } from "socket.io";
import { startBroker, telemetryFromEnv } from "@regio/broker";
import { useRegio } from "@regio/sdk";
import { clientPath, formatConnectionString } from "@regio/protocol";
import { startRawWsServer, type RawWsServer } from "./raw-ws-server.ts";

const ACCESS_KEY = "bench-access-key-of-at-least-32-bytes";
const mode = process.argv[2] === "regio" || process.argv[2] === "ws" ? process.argv[2] : "plain";
let closeRegio = async () => {};
const io = new Server();
let url: string;
let path: string;
let raw: RawWsServer | undefined;
if (mode === "ws") {
  raw = await startRawWsServer();
  url = raw.url;
  path = raw.path;
} else if (mode === "plain") {
  const http = createServer();
  io.attach(http);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  path = "/socket.io";
} else {
  const telemetry = process.env.REGIO_BENCH_TRACE
    ? await telemetryFromEnv(process.env, { nodeId: "bench-node", region: "local" })
    : undefined;
  const broker = await startBroker({
    accessKey: ACCESS_KEY,
    port: 0,
    telemetry,
  });
  // The app server unlinks before its broker goes: no re-link attempts (and warnings) on the way out.
  closeRegio = async () => {
    await regio.close();
    await broker.close();
  };
  const regio = useRegio(io, {
    hub: "bench",
    connectionString: formatConnectionString(broker.url, ACCESS_KEY),
  });
  await regio.ready;
  url = broker.url;
  path = clientPath("bench");
}

let tracer: Tracer | undefined;
let flush = async () => {};
if (process.env.REGIO_BENCH_TRACE) {
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
  tracer = trace.getTracer("bench-app");
  flush = () => provider.shutdown();
}
const emit = (payload: string) => io.emit("m", payload);
/** One tick's broadcasts: the raw server frames and concatenates them once and writes once per socket. */
const burst = (payload: string, count: number) => {
  if (raw) return raw.broadcast("m", payload, count);
  for (let i = 0; i < count; i++) (tracer ? tracedEmit : emit)(payload);
};
const tracedEmit = (payload: string) =>
  tracer!.startActiveSpan("publish", (span) => {
    emit(payload);
    span.end();
  });

let start = process.cpuUsage();
const control = createServer(async (req, res) => {
  const query = new URL(req.url ?? "/", "http://x").searchParams;
  if (req.url?.startsWith("/go")) {
    res.end("ok");
    const payload = "x".repeat(Number(query.get("size")));
    const messages = Number(query.get("messages"));
    const perTick = Number(query.get("perTick"));
    start = process.cpuUsage();
    for (let sent = 0; sent < messages; sent += perTick) {
      burst(payload, Math.min(perTick, messages - sent));
      await new Promise((resolve) => setImmediate(resolve));
    }
  } else if (req.url?.startsWith("/cpu")) {
    const used = process.cpuUsage(start);
    res.end(JSON.stringify({ cpuMs: (used.user + used.system) / 1000 }));
  } else {
    res.statusCode = 404;
    res.end();
  }
});
await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
process.stdout.write(JSON.stringify({ url, path, control: controlUrl }) + "\n");
process.once("SIGTERM", () => {
  void Promise.allSettled([flush(), closeRegio()]).then(() => process.exit(0));
});
