import { OTLPMetricExporter as OtlpJsonMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as OtlpProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter as OtlpJsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OtlpProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { ZipkinExporter } from "@opentelemetry/exporter-zipkin";
import { ConsoleMetricExporter, type PushMetricExporter } from "@opentelemetry/sdk-metrics";
import { ConsoleSpanExporter, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { MetricExporterName, OtlpProtocol, TraceExporterName } from "./otel-config.ts";

/**
 * The exporter OTEL_TRACES_EXPORTER names. Each reads its own standard variables: OTLP its
 * endpoint (OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
 * headers and timeout; Zipkin OTEL_EXPORTER_ZIPKIN_ENDPOINT (default http://localhost:9411/api/v2/spans).
 */
export function spanExporter(name: TraceExporterName, protocol: OtlpProtocol): SpanExporter {
  switch (name) {
    case "otlp":
      return protocol === "http/json" ? new OtlpJsonTraceExporter() : new OtlpProtoTraceExporter();
    case "zipkin":
      return new ZipkinExporter();
    case "console":
      return new ConsoleSpanExporter();
  }
}

/** The exporter OTEL_METRICS_EXPORTER names (OTLP: OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics, ...). */
export function metricExporter(name: MetricExporterName, protocol: OtlpProtocol): PushMetricExporter {
  switch (name) {
    case "otlp":
      return protocol === "http/json" ? new OtlpJsonMetricExporter() : new OtlpProtoMetricExporter();
    case "console":
      return new ConsoleMetricExporter();
  }
}
