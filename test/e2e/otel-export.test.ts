import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect, it } from "vitest";
import { killNode, startCliNode, type CliNode } from "../support/cli-node.ts";
import { connect, startAppServer, stopAppServer, type AppServer } from "../support/regio-harness.ts";
import { connected, until } from "../support/events.ts";

/**
 * `regio broker` configured as an operator would, with the standard OTEL_* variables only, exporting
 * to receivers on 127.0.0.1 that speak OTLP/HTTP JSON and Zipkin's v2 API.
 */
interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

let receiver: Server | undefined;
let node: CliNode | undefined;
let app: AppServer | undefined;

afterEach(async () => {
  if (app) await stopAppServer(app);
  if (node) await killNode(node);
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
  app = node = receiver = undefined;
});

async function startReceiver(): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(body) });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(receiver!.address() as AddressInfo).port}`, received };
}

/** A client's message through the node: the node starts its trace. */
async function traffic(broker: CliNode): Promise<void> {
  app = await startAppServer(broker, (io) =>
    io.on("connection", (socket) => socket.on("ping", (ack: (reply: string) => void) => ack("pong"))),
  );
  const client = await connected(connect(broker, "/", { transports: ["websocket"] }));
  expect(await client.emitWithAck("ping")).toBe("pong");
  client.disconnect();
}

const flat = (value: unknown): string => JSON.stringify(value);

it("exports spans and metrics over OTLP/HTTP JSON with the configured headers and resource", async () => {
  const { url, received } = await startReceiver();
  node = await startCliNode("otlp-node", ["--port=0", "--region=eastus"], {
    OTEL_TRACES_EXPORTER: "otlp",
    OTEL_METRICS_EXPORTER: "otlp",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_EXPORTER_OTLP_ENDPOINT: url,
    OTEL_EXPORTER_OTLP_HEADERS: "x-collector-token=secret",
    OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=test,service.namespace=chat%20apps",
    OTEL_SERVICE_NAME: "edge",
    OTEL_BSP_SCHEDULE_DELAY: "50",
    OTEL_METRIC_EXPORT_INTERVAL: "200",
  });
  await traffic(node);
  await until(
    () => received.some((r) => r.path === "/v1/traces" && flat(r.body).includes("receive chat")),
    "spans arrive",
  );
  await until(
    () => received.some((r) => r.path === "/v1/metrics" && flat(r.body).includes("regio.client.packets")),
    "metrics arrive",
  );
  const traces = received.find((r) => r.path === "/v1/traces")!;
  expect(traces.headers["x-collector-token"]).toBe("secret");
  expect(traces.headers["content-type"]).toContain("application/json");
  const resource = flat(
    (traces.body as { resourceSpans: Array<{ resource: unknown }> }).resourceSpans[0]!.resource,
  );
  for (const [key, value] of [
    ["service.name", "edge"],
    ["service.instance.id", "otlp-node"],
    ["cloud.region", "eastus"],
    ["deployment.environment.name", "test"],
    ["service.namespace", "chat apps"],
  ]) {
    expect(resource).toContain(flat({ key, value: { stringValue: value } }));
  }
});

it("exports spans to Zipkin", async () => {
  const { url, received } = await startReceiver();
  node = await startCliNode("zipkin-node", ["--port=0", "--region=westeurope"], {
    OTEL_TRACES_EXPORTER: "zipkin",
    OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${url}/api/v2/spans`,
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: "1",
    OTEL_BSP_SCHEDULE_DELAY: "50",
  });
  await traffic(node);
  await until(
    () => received.some((r) => flat(r.body).includes('"name":"receive chat"')),
    "Zipkin spans arrive",
  );
  const spans = received.flatMap((r) => r.body as Array<Record<string, unknown>>);
  const span = spans.find((s) => s.name === "receive chat")!;
  expect(received[0]!.path).toBe("/api/v2/spans");
  expect(span.kind).toBe("CONSUMER");
  expect(span.localEndpoint).toEqual({ serviceName: "regio-broker" });
  expect(span.tags).toMatchObject({
    "messaging.system": "socket.io",
    "messaging.operation.type": "receive",
    "cloud.region": "westeurope",
    "service.instance.id": "zipkin-node",
  });
});

it("refuses to start with OTEL_* settings it cannot honour (exit 2; broker/test/otel-config.test.ts has the messages)", async () => {
  await expect(startCliNode("bad-otel", ["--port=0"], { OTEL_TRACES_EXPORTER: "jaeger" })).rejects.toThrow(
    /exited with 2/,
  );
});
