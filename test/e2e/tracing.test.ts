import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SpanKind } from "@opentelemetry/api";
import { AlwaysOffSampler, ParentBasedSampler } from "@opentelemetry/sdk-trace-base";
import type { Socket as ClientSocket } from "socket.io-client";
import { startLocalCluster, type BrokerHandle, type LocalCluster } from "@regio/broker";
import {
  ACCESS_KEY,
  connect,
  startAppServer,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { connected, once, until } from "../support/events.ts";
import { uniqueTopics } from "../support/topics.ts";
import {
  appTracing,
  findSpan,
  idOf,
  node,
  nodeTracing,
  parentOf,
  traceOf,
  useAsyncContext,
} from "../support/tracing.ts";

/**
 * One trace per message, end to end: two regions on their own real Kafkas, one node each, every
 * node's spans in one in-memory exporter and each app server's in its own (the app owns its SDK).
 */
describe("OpenTelemetry across regions", () => {
  let cluster: LocalCluster;
  let east: BrokerHandle;
  let west: BrokerHandle;
  let app: AppServer;
  let quietApp: AppServer;
  const clients: ClientSocket[] = [];
  // Parent-based sampling everywhere. The west node samples out every trace it starts (a client's
  // message there) and the quiet app every trace it starts: nothing of those may be recorded
  // anywhere. Both still record what continues a sampled trace.
  const sampledOutRoots = () => new ParentBasedSampler({ root: new AlwaysOffSampler() });
  const nodes = nodeTracing(({ region }) => (region === "westeurope" ? sampledOutRoots() : undefined));
  const appSpans = appTracing("chat-app");
  const quietSpans = appTracing("quiet-app", sampledOutRoots());
  let undoContext: () => void;
  let topics: ReturnType<typeof uniqueTopics>;

  beforeAll(async () => {
    undoContext = useAsyncContext();
    topics = uniqueTopics("trace");
    cluster = await startLocalCluster({
      accessKey: ACCESS_KEY,
      kafka: inject("kafka"),
      nodesPerRegion: 1,
      topics,
      leaseMs: 3000,
      logLevel: process.env.REGIO_LOG_LEVEL ?? "silent",
      telemetry: nodes.telemetry,
    });
    east = cluster.regions.get("eastus")![0]!;
    west = cluster.regions.get("westeurope")![0]!;
    const greeter = (tracer: typeof appSpans.tracer) => (io: AppServer["io"]) =>
      io.on("connection", (socket) => {
        socket.on("hello", (name: string, ack: (reply: string) => void) =>
          // A span the app makes inside the handler joins the client's trace; the ack closes it.
          tracer.startActiveSpan("greet", (span) => {
            ack(`hi ${name}`);
            span.end();
          }),
        );
      });
    app = await startAppServer(east, greeter(appSpans.tracer), {}, { tracerProvider: appSpans.provider });
    // Linked in the other region: it serves the clients there (the app link is per region).
    quietApp = await startAppServer(
      west,
      greeter(quietSpans.tracer),
      {},
      {
        tracerProvider: quietSpans.provider,
      },
    );
  }, 120_000);

  afterAll(async () => {
    clients.forEach((c) => c.disconnect());
    await Promise.allSettled([app, quietApp].filter(Boolean).map(stopAppServer));
    await cluster?.close();
    undoContext?.();
  });

  const spansOf = (traceId: string) =>
    nodes.exporter.getFinishedSpans().filter((s) => traceOf(s) === traceId);

  it("traces a broadcast from an app server in one region to a client in the other: one trace, app emit -> node -> Kafka -> node -> delivery", async () => {
    const client = await connected(connect(west, "/", { transports: ["websocket"] }));
    clients.push(client);
    const received = once<[string]>(client, "news");
    let traceId = "";
    appSpans.tracer.startActiveSpan("publish news", (span) => {
      traceId = span.spanContext().traceId;
      app.io.emit("news", "hello, west");
      span.end();
    });
    expect((await received)[0]).toBe("hello, west");
    // The delivery span ends as soon as the node wrote to its clients; Kafka's send span on its ack.
    await until(
      () => spansOf(traceId).some((s) => s.name === "deliver chat" && node(s) === west.nodeId),
      "the west node's delivery span is exported",
    );
    await until(() => spansOf(traceId).some((s) => s.name === `send ${topics.events}`), "Kafka's send span");

    const appSide = appSpans.exporter.getFinishedSpans().filter((s) => traceOf(s) === traceId);
    const emitted = findSpan(appSide, "publish news");
    const sent = findSpan(appSide, "send chat");
    expect(sent.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(sent)).toBe(idOf(emitted));
    expect(sent.attributes).toMatchObject({
      "messaging.system": "regio",
      "messaging.destination.name": "chat",
      "messaging.operation.type": "send",
      "messaging.operation.name": "broadcast",
    });

    const spans = spansOf(traceId);
    const processed = findSpan(spans, "process chat", (s) => node(s) === east.nodeId);
    expect(processed.kind).toBe(SpanKind.CONSUMER);
    expect(parentOf(processed)).toBe(idOf(sent));
    expect(processed.attributes).toMatchObject({
      "messaging.system": "regio",
      "messaging.operation.type": "process",
      "messaging.operation.name": "broadcast",
    });
    expect(processed.resource.attributes).toMatchObject({
      "service.name": "regio-broker",
      "service.instance.id": east.nodeId,
      "cloud.region": "eastus",
    });
    // The east node has no client of its own here: its delivery span says so.
    expect(findSpan(spans, "deliver chat", (s) => node(s) === east.nodeId).attributes).toMatchObject({
      "messaging.batch.message_count": 0,
    });

    const created = findSpan(spans, `create ${topics.events}`);
    expect(created.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(created)).toBe(idOf(processed));
    expect(created.attributes).toMatchObject({
      "messaging.system": "kafka",
      "messaging.destination.name": topics.events,
      "messaging.operation.type": "create",
    });
    // The write to Kafka carries many records: it links to each one's "create" span.
    const written = findSpan(spans, `send ${topics.events}`);
    expect(written.kind).toBe(SpanKind.CLIENT);
    expect(written.links.map((link) => link.context.spanId)).toContain(idOf(created));
    expect(written.attributes["messaging.operation.type"]).toBe("send");

    const consumed = findSpan(spans, `process ${topics.events}`, (s) => node(s) === west.nodeId);
    expect(consumed.kind).toBe(SpanKind.CONSUMER);
    expect(parentOf(consumed)).toBe(idOf(created));
    expect(consumed.attributes).toMatchObject({
      "messaging.system": "kafka",
      "messaging.destination.name": topics.events,
      "messaging.operation.type": "process",
      "regio.origin.region": "eastus",
    });
    expect(consumed.resource.attributes["cloud.region"]).toBe("westeurope");

    const delivered = findSpan(spans, "deliver chat", (s) => node(s) === west.nodeId);
    expect(delivered.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(delivered)).toBe(idOf(consumed));
    expect(delivered.attributes).toMatchObject({
      "messaging.system": "socket.io",
      "messaging.operation.type": "send",
      "messaging.batch.message_count": 1,
    });
  });

  it("traces a client's emit with an ack: node receive -> the app's handler (and the span it makes) -> the ack written back", async () => {
    const client = await connected(connect(east, "/", { transports: ["websocket"] }));
    clients.push(client);
    expect(await client.emitWithAck("hello", "ada")).toBe("hi ada");
    await until(
      () => appSpans.exporter.getFinishedSpans().some((s) => s.name === "greet"),
      "the app's handler span is exported",
    );
    const greet = findSpan(appSpans.exporter.getFinishedSpans(), "greet");
    const traceId = traceOf(greet);
    await until(() => spansOf(traceId).some((s) => s.name === "send chat"), "the ack's span is exported");

    const spans = spansOf(traceId);
    const received = findSpan(spans, "receive chat");
    expect(received.kind).toBe(SpanKind.CONSUMER);
    expect(parentOf(received)).toBeUndefined(); // the node starts the trace
    expect(node(received)).toBe(east.nodeId);
    expect(received.attributes).toMatchObject({
      "messaging.system": "socket.io",
      "messaging.destination.name": "chat",
      "messaging.operation.type": "receive",
    });
    const appSide = appSpans.exporter.getFinishedSpans().filter((s) => traceOf(s) === traceId);
    const dispatched = findSpan(appSide, "process chat");
    expect(dispatched.kind).toBe(SpanKind.CONSUMER);
    expect(parentOf(dispatched)).toBe(idOf(received));
    expect(parentOf(greet)).toBe(idOf(dispatched));
    const acked = findSpan(spans, "send chat");
    expect(acked.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(acked)).toBe(idOf(greet));
    expect(acked.attributes).toMatchObject({ "messaging.operation.type": "send", "regio.written": true });
  });

  it("records nothing anywhere of a sampled-out message, in either direction", async () => {
    const client = await connected(connect(east, "/", { transports: ["websocket"] }));
    const westClient = await connected(connect(west, "/", { transports: ["websocket"] }));
    clients.push(client, westClient);
    const received = [once(client, "quiet"), once(westClient, "quiet")];
    let traceId = "";
    quietSpans.tracer.startActiveSpan("publish quietly", (span) => {
      traceId = span.spanContext().traceId;
      expect(span.isRecording()).toBe(false);
      quietApp.io.emit("quiet");
      span.end();
    });
    await Promise.all(received);
    // Behind it in the same stream: once this arrived, every span of the first is done.
    const marker = once(client, "marker");
    quietApp.io.emit("marker");
    await marker;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(spansOf(traceId)).toEqual([]);
    expect(quietSpans.exporter.getFinishedSpans()).toEqual([]);

    // A client's message to a node that samples it out: its decision travels to the app (whose
    // handler span is not recorded) and back with the ack (whose write is not recorded either).
    expect(await westClient.emitWithAck("hello", "bob")).toBe("hi bob");
    expect(quietSpans.exporter.getFinishedSpans()).toEqual([]);
    const westSpans = nodes.exporter.getFinishedSpans().filter((s) => node(s) === west.nodeId);
    expect(westSpans.filter((s) => s.name === "receive chat" || s.name === "send chat")).toEqual([]);
  });
});
