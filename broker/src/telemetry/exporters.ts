import type { PushMetricExporter } from "@opentelemetry/sdk-metrics";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { MetricExporterName, OtlpProtocol, TraceExporterName } from "./otel-config.ts";

/**
 * The exporter OTEL_TRACES_EXPORTER names, its module loaded only when named (every module loaded
 * costs a node throughput: see telemetry.ts). Each reads its own standard variables: OTLP its
 * endpoint (OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
 * headers and timeout; Zipkin OTEL_EXPORTER_ZIPKIN_ENDPOINT (default http://localhost:9411/api/v2/spans).
 */
export async function spanExporter(name: TraceExporterName, protocol: OtlpProtocol): Promise<SpanExporter> {
  switch (name) {
    case "otlp":
      return protocol === "http/json"
        ? new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter()
        : new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter();
    case "zipkin":
      return new (await import("@opentelemetry/exporter-zipkin")).ZipkinExporter();
    case "console":
      return new (await import("@opentelemetry/sdk-trace-base")).ConsoleSpanExporter();
  }
}

/** The exporter OTEL_METRICS_EXPORTER names (OTLP: OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics, ...). */
export async function metricExporter(
  name: MetricExporterName,
  protocol: OtlpProtocol,
): Promise<PushMetricExporter> {
  switch (name) {
    case "otlp":
      return protocol === "http/json"
        ? new (await import("@opentelemetry/exporter-metrics-otlp-http")).OTLPMetricExporter()
        : new (await import("@opentelemetry/exporter-metrics-otlp-proto")).OTLPMetricExporter();
    case "console":
      return new (await import("@opentelemetry/sdk-metrics")).ConsoleMetricExporter();
  }
}
