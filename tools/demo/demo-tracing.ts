/**
 * Tracing for the demo: Zipkin on 127.0.0.1:9411, the broker nodes configured as an operator would
 * (OTEL_TRACES_EXPORTER=zipkin), and each chat app server with an OpenTelemetry SDK of its own (the
 * app owns its SDK; the Regio SDK only uses the API), all sending their spans to Zipkin.
 */
import { context, type TracerProvider } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { ZipkinExporter } from "@opentelemetry/exporter-zipkin";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { createTelemetry, parseOtelConfig, type BrokerTelemetry } from "@regio/broker";
import { startZipkin } from "./zipkin.ts";

export interface DemoTracing {
  /** Zipkin's UI. */
  readonly uiUrl: string;
  readonly zipkinUrl: string;
  nodeTelemetry(node: { nodeId: string; region: string }): Promise<BrokerTelemetry>;
  appTracerProvider(region: string): TracerProvider;
  close(): Promise<void>;
}

export async function startDemoTracing(): Promise<DemoTracing> {
  const zipkin = await startZipkin();
  const spansUrl = `${zipkin.url}/api/v2/spans`;
  // What an operator would set for `regio broker`; the exporters read these themselves.
  const env = {
    OTEL_TRACES_EXPORTER: "zipkin",
    OTEL_EXPORTER_ZIPKIN_ENDPOINT: spansUrl,
    OTEL_BSP_SCHEDULE_DELAY: "500",
  };
  Object.assign(process.env, env);
  const config = parseOtelConfig(env);
  // An app's OpenTelemetry SDK makes the active context follow async work (NodeSDK does the same).
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const providers: BasicTracerProvider[] = [];
  return {
    uiUrl: `${zipkin.url}/zipkin/`,
    zipkinUrl: zipkin.url,
    nodeTelemetry: (node) => createTelemetry({ ...node, config }),
    appTracerProvider(region) {
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({
          "service.name": "regio-demo-chat",
          "service.instance.id": `chat-${region}`,
          "cloud.region": region,
        }),
        spanProcessors: [
          new BatchSpanProcessor(new ZipkinExporter({ url: spansUrl }), { scheduledDelayMillis: 500 }),
        ],
      });
      providers.push(provider);
      return provider;
    },
    async close() {
      await Promise.allSettled(providers.map((provider) => provider.shutdown()));
      contextManager.disable();
      await zipkin.stop();
    },
  };
}
