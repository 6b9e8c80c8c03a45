import type { Logger } from "../logger.ts";
import { BrokerTracing } from "./broker-tracing.ts";
import { prometheusText, type MetricSources } from "./node-metrics.ts";
import { parseOtelConfig, type OtelConfig } from "./otel-config.ts";

/**
 * A broker node's own telemetry: its tracing (off without a tracer), its metrics (served at
 * `/metrics`, and exported over OTLP when configured), and what flushes it all when the node closes.
 * Nothing here is registered globally: several nodes (and app servers, with SDKs of their own) may
 * share a process.
 */
export interface BrokerTelemetry {
  readonly tracing: BrokerTracing;
  /** The node's figures come from here from now on. */
  observe(sources: MetricSources): void;
  /** The node's metrics in Prometheus text (`/metrics`). */
  prometheusText(): string;
  /** Flushes and stops every exporter (the broker calls it when it closes). */
  shutdown(): Promise<void>;
}

/** What a span exporter and a sampler are to the OpenTelemetry SDK (tests give their own). */
export type SpanExporterLike = object;
export type SamplerLike = object;

export interface TelemetryOptions {
  nodeId: string;
  region: string;
  /** OTEL_* settings (default: none given: tracing off, `/metrics` only). */
  config?: OtelConfig;
  /**
   * An `@opentelemetry/sdk-trace-base` SpanExporter: spans go there as soon as they end, besides
   * the configured exporters (tests' in-memory exporter). Tracing is on with one.
   */
  spanExporter?: SpanExporterLike;
  /** An `@opentelemetry/sdk-trace-base` Sampler instead of OTEL_TRACES_SAMPLER (tests). */
  sampler?: SamplerLike;
  /** Where the OpenTelemetry SDK's own complaints go (an exporter that cannot reach its endpoint). */
  log?: Logger;
}

/**
 * The node's telemetry as configured. The OpenTelemetry SDK is loaded only when something is to be
 * exported: a node that exports nothing does not even load it (loading it alone costs fan-out
 * throughput: docs/benchmarks.md), and its `/metrics` needs none.
 */
export async function createTelemetry(options: TelemetryOptions): Promise<BrokerTelemetry> {
  const config = options.config ?? parseOtelConfig({});
  const exporting =
    !config.disabled && (config.traces.exporters.length > 0 || config.metrics.exporters.length > 0);
  if (!exporting && !options.spanExporter) return localTelemetry();
  const { sdkTelemetry } = await import("./telemetry-sdk.ts");
  return await sdkTelemetry({ ...options, config });
}

/** The node's telemetry from the OTEL_* environment variables (see otel-config.ts). */
export function telemetryFromEnv(
  env: NodeJS.ProcessEnv,
  node: { nodeId: string; region: string; log?: Logger },
): Promise<BrokerTelemetry> {
  return createTelemetry({ ...node, config: parseOtelConfig(env) });
}

/** Tracing off, metrics at `/metrics` only: what a node has unless told otherwise. */
export function localTelemetry(): BrokerTelemetry {
  let sources: MetricSources | undefined;
  return {
    tracing: new BrokerTracing(undefined),
    observe(observed) {
      sources = observed;
    },
    prometheusText: () => (sources ? prometheusText(sources) : ""),
    shutdown: async () => {},
  };
}
