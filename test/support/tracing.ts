import { context, type Attributes } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Sampler,
} from "@opentelemetry/sdk-trace-base";
import { createTelemetry, type BrokerTelemetry } from "@regio/broker";

/**
 * What an app registers with its OpenTelemetry SDK for the SDK's context to flow through its
 * handlers (NodeSDK and NodeTracerProvider do this): the active context in AsyncLocalStorage.
 * Returns what undoes it.
 */
export function useAsyncContext(): () => void {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  return () => {
    manager.disable();
    context.disable();
  };
}

/** An app server's own tracer provider (the app owns its SDK), exporting to memory. */
export function appTracing(serviceName: string, sampler?: Sampler) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    ...(sampler ? { sampler } : {}),
  });
  return { exporter, provider, tracer: provider.getTracer("test-app") };
}

/**
 * Broker nodes' telemetry, every node's spans into one in-memory exporter (told apart by resource);
 * `sampler` picks each node's (default: parent-based, always on).
 */
export function nodeTracing(
  sampler: (node: { nodeId: string; region: string }) => Sampler | undefined = () => undefined,
) {
  const exporter = new InMemorySpanExporter();
  const telemetry = (node: { nodeId: string; region: string }): Promise<BrokerTelemetry> =>
    createTelemetry({ ...node, spanExporter: exporter, sampler: sampler(node) });
  return { exporter, telemetry };
}

/** A span found by its name (and attributes) among finished spans; throws naming what there is. */
export function findSpan(
  spans: readonly ReadableSpan[],
  name: string,
  where: (span: ReadableSpan) => boolean = () => true,
): ReadableSpan {
  const span = spans.find((s) => s.name === name && where(s));
  if (!span) throw new Error(`no span '${name}' among: ${spans.map((s) => s.name).join(", ")}`);
  return span;
}

export const node = (span: ReadableSpan): unknown => span.resource.attributes["service.instance.id"];
export const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
export const idOf = (span: ReadableSpan): string => span.spanContext().spanId;
export const traceOf = (span: ReadableSpan): string => span.spanContext().traceId;
export const attributesOf = (span: ReadableSpan): Attributes => span.attributes;
