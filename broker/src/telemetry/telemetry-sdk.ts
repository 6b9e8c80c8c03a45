import { diag, DiagLogLevel, type DiagLogger, type Observable } from "@opentelemetry/api";
import { defaultResource, resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import type { MeterProvider } from "@opentelemetry/sdk-metrics";
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
import {
  collectNodeMetrics,
  NODE_METRICS,
  prometheusText,
  type MetricSources,
  type NodeMetric,
} from "./node-metrics.ts";
import type { OtelConfig } from "./otel-config.ts";
import type { BrokerTelemetry, TelemetryOptions } from "./telemetry.ts";

/**
 * The node's telemetry with the OpenTelemetry SDK, loaded (by telemetry.ts) only when something is
 * exported: a tracer provider with the configured exporters and sampler, and a meter provider that
 * exports the node's metrics over OTLP. `/metrics` is rendered from the same figures.
 */
export async function sdkTelemetry(
  options: TelemetryOptions & { config: OtelConfig },
): Promise<BrokerTelemetry> {
  const { config } = options;
  if (options.log) routeDiagnostics(options.log);
  const resource = nodeResource(config, options.nodeId, options.region);
  const processors: SpanProcessor[] = [];
  if (!config.disabled) {
    for (const name of config.traces.exporters) {
      processors.push(new BatchSpanProcessor(await spanExporter(name, config.traces.otlpProtocol)));
    }
  }
  if (options.spanExporter) processors.push(new SimpleSpanProcessor(options.spanExporter as SpanExporter));
  const tracerProvider =
    processors.length > 0
      ? new BasicTracerProvider({
          resource,
          sampler: (options.sampler as Sampler | undefined) ?? samplerOf(config),
          spanProcessors: processors,
        })
      : undefined;
  const metricExporters = config.disabled ? [] : config.metrics.exporters;
  let meterProvider: MeterProvider | undefined;
  if (metricExporters.length > 0) {
    // Loaded only when metrics are exported: /metrics needs none of it.
    const metrics = await import("@opentelemetry/sdk-metrics");
    const readers = [];
    for (const name of metricExporters) {
      readers.push(
        new metrics.PeriodicExportingMetricReader({
          exporter: await metricExporter(name, config.metrics.otlpProtocol),
          exportIntervalMillis: config.metrics.exportIntervalMs,
        }),
      );
    }
    meterProvider = new metrics.MeterProvider({ resource, readers });
  }
  let sources: MetricSources | undefined;
  return {
    tracing: new BrokerTracing(tracerProvider?.getTracer("@regio/broker")),
    observe(observed) {
      sources = observed;
      if (meterProvider) exportNodeMetrics(meterProvider, observed);
    },
    prometheusText: () => (sources ? prometheusText(sources) : ""),
    async shutdown() {
      await Promise.allSettled([tracerProvider?.shutdown(), meterProvider?.shutdown()]);
    },
  };
}

/** The node's metrics as observable instruments, collected together when the reader exports. */
function exportNodeMetrics(meterProvider: MeterProvider, sources: MetricSources): void {
  const meter = meterProvider.getMeter("@regio/broker");
  const instruments = Object.fromEntries(
    Object.entries(NODE_METRICS).map(([key, definition]) => {
      const options = {
        description: definition.description,
        unit: "unit" in definition ? definition.unit : undefined,
      };
      const instrument =
        definition.kind === "counter"
          ? meter.createObservableCounter(definition.name, options)
          : definition.kind === "updowncounter"
            ? meter.createObservableUpDownCounter(definition.name, options)
            : meter.createObservableGauge(definition.name, options);
      return [key, instrument];
    }),
  ) as Record<NodeMetric, Observable>;
  meter.addBatchObservableCallback(
    (result) =>
      collectNodeMetrics(sources, (metric, value, attributes) =>
        result.observe(instruments[metric], value, attributes),
      ),
    Object.values(instruments),
  );
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
