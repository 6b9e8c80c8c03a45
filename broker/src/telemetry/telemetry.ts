import { diag, DiagLogLevel, type DiagLogger } from "@opentelemetry/api";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { defaultResource, resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from "@opentelemetry/sdk-metrics";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import type { Logger } from "../logger.ts";
import { BrokerTracing } from "./broker-tracing.ts";
import { metricExporter, spanExporter } from "./exporters.ts";
import { parseOtelConfig, type OtelConfig } from "./otel-config.ts";

/**
 * A broker node's own OpenTelemetry: its tracer (none when tracing is off), the meter provider its
 * metrics are registered with, and the Prometheus reader `/metrics` serves. Nothing here is
 * registered globally: several nodes (and app servers, with SDKs of their own) may share a process.
 */
export interface BrokerTelemetry {
  readonly tracing: BrokerTracing;
  readonly meterProvider: MeterProvider;
  /** The node's metrics in Prometheus text (`/metrics`). */
  readonly prometheus: PrometheusExporter;
  /** Flushes and stops every exporter (the broker calls it when it closes). */
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  nodeId: string;
  region: string;
  /** OTEL_* settings (default: none given: tracing off, `/metrics` only). */
  config?: OtelConfig;
  /**
   * Spans go here as soon as they end, instead of (or, with exporters configured, besides) the
   * configured exporters: tests' in-memory exporter. Tracing is on with one.
   */
  spanExporter?: SpanExporter;
  /** Instead of OTEL_TRACES_SAMPLER (tests). */
  sampler?: Sampler;
  /** Where the OpenTelemetry SDK's own complaints go (an exporter that cannot reach its endpoint). */
  log?: Logger;
}

/** The node's telemetry from the OTEL_* environment variables (see otel-config.ts). */
export function telemetryFromEnv(
  env: NodeJS.ProcessEnv,
  node: { nodeId: string; region: string; log?: Logger },
): BrokerTelemetry {
  return createTelemetry({ ...node, config: parseOtelConfig(env) });
}

export function createTelemetry(options: TelemetryOptions): BrokerTelemetry {
  const config = options.config ?? parseOtelConfig({});
  if (options.log) routeDiagnostics(options.log);
  const resource = nodeResource(config, options.nodeId, options.region);
  const processors: SpanProcessor[] = [];
  if (!config.disabled) {
    for (const name of config.traces.exporters) {
      processors.push(new BatchSpanProcessor(spanExporter(name, config.traces.otlpProtocol)));
    }
  }
  if (options.spanExporter) processors.push(new SimpleSpanProcessor(options.spanExporter));
  const tracerProvider =
    processors.length > 0
      ? new BasicTracerProvider({
          resource,
          sampler: options.sampler ?? samplerOf(config),
          spanProcessors: processors,
        })
      : undefined;

  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const readers: MetricReader[] = [prometheus];
  if (!config.disabled) {
    for (const name of config.metrics.exporters) {
      readers.push(
        new PeriodicExportingMetricReader({
          exporter: metricExporter(name, config.metrics.otlpProtocol),
          exportIntervalMillis: config.metrics.exportIntervalMs,
        }),
      );
    }
  }
  const meterProvider = new MeterProvider({ resource, readers });
  return {
    tracing: new BrokerTracing(tracerProvider?.getTracer("@regio/broker")),
    meterProvider,
    prometheus,
    async shutdown() {
      await Promise.allSettled([tracerProvider?.shutdown(), meterProvider.shutdown()]);
    },
  };
}

/**
 * `service.name` regio-broker, `service.instance.id` the node id, `cloud.region` the node's region,
 * unless OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME say otherwise.
 */
export function nodeResource(config: OtelConfig, nodeId: string, region: string): Resource {
  return defaultResource().merge(
    resourceFromAttributes({
      "service.name": "regio-broker",
      "service.namespace": "regio",
      "service.instance.id": nodeId,
      "cloud.region": region,
      ...config.resourceAttributes,
    }),
  );
}

function samplerOf(config: OtelConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.traces.samplerRatio);
  switch (config.traces.sampler) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return ratio;
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: ratio });
  }
}

let diagnosticsRouted = false;

/** The SDK reports export failures through `diag`: into the node's log, as warnings, once per process. */
function routeDiagnostics(log: Logger): void {
  if (diagnosticsRouted) return;
  diagnosticsRouted = true;
  const child = log.child({ component: "opentelemetry" });
  const logger: DiagLogger = {
    error: (message, ...args) => child.warn({ args: args.map(String) }, message),
    warn: (message, ...args) => child.warn({ args: args.map(String) }, message),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
}
