import { ConfigError } from "../config.ts";

/**
 * The broker's OpenTelemetry settings, from the standard OTEL_* environment variables
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/). What the
 * exporters read themselves (OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS, _TIMEOUT and their per-signal
 * forms, OTEL_EXPORTER_ZIPKIN_ENDPOINT, OTEL_BSP_*) is left to them.
 *
 * One deliberate difference: with OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER unset nothing is
 * exported (the specification's default is otlp): a broker never sends to a collector nobody
 * configured, and tracing off costs nothing. `/metrics` (Prometheus text) is always served.
 */
export interface OtelConfig {
  /** OTEL_SDK_DISABLED=true: no spans, no metrics exported (`/metrics` still answers). */
  disabled: boolean;
  /** OTEL_RESOURCE_ATTRIBUTES, with OTEL_SERVICE_NAME as `service.name` when set. */
  resourceAttributes: Record<string, string>;
  traces: {
    exporters: TraceExporterName[];
    /** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL (default http/protobuf). */
    otlpProtocol: OtlpProtocol;
    sampler: SamplerName;
    /** OTEL_TRACES_SAMPLER_ARG: the ratio of the traceidratio samplers (default 1). */
    samplerRatio: number;
  };
  metrics: {
    exporters: MetricExporterName[];
    otlpProtocol: OtlpProtocol;
    /** OTEL_METRIC_EXPORT_INTERVAL, ms (default 60000). */
    exportIntervalMs: number;
  };
}

export const TRACE_EXPORTERS = ["otlp", "zipkin", "console", "none"] as const;
export type TraceExporterName = Exclude<(typeof TRACE_EXPORTERS)[number], "none">;
/** "prometheus" is accepted and means what is always there: `/metrics` on the node's own port. */
export const METRIC_EXPORTERS = ["otlp", "console", "prometheus", "none"] as const;
export type MetricExporterName = "otlp" | "console";
export const OTLP_PROTOCOLS = ["http/protobuf", "http/json"] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
export const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export function parseOtelConfig(env: NodeJS.ProcessEnv): OtelConfig {
  const resourceAttributes = parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES ?? "");
  const serviceName = env.OTEL_SERVICE_NAME?.trim();
  if (serviceName) resourceAttributes["service.name"] = serviceName;
  const traceExporters = names(env, "OTEL_TRACES_EXPORTER", TRACE_EXPORTERS);
  const metricExporters = names(env, "OTEL_METRICS_EXPORTER", METRIC_EXPORTERS);
  const sampler = oneOf(env, "OTEL_TRACES_SAMPLER", SAMPLERS) ?? "parentbased_always_on";
  return {
    disabled: env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true",
    resourceAttributes,
    traces: {
      exporters: traceExporters.filter((name): name is TraceExporterName => name !== "none"),
      otlpProtocol: protocol(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
      sampler,
      samplerRatio: ratio(env.OTEL_TRACES_SAMPLER_ARG, sampler),
    },
    metrics: {
      exporters: metricExporters.filter(
        (name): name is MetricExporterName => name === "otlp" || name === "console",
      ),
      otlpProtocol: protocol(env, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"),
      exportIntervalMs: positive(env.OTEL_METRIC_EXPORT_INTERVAL, "OTEL_METRIC_EXPORT_INTERVAL", 60_000),
    },
  };
}

/** `key1=value1,key2=value2`, values percent-decoded (the W3C Baggage octet format the spec names). */
export function parseResourceAttributes(text: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const pair of text.split(",")) {
    if (pair.trim() === "") continue;
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq).trim();
    if (eq <= 0 || key === "") throw new ConfigError(`OTEL_RESOURCE_ATTRIBUTES: '${pair}' is not key=value`);
    try {
      attributes[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      throw new ConfigError(
        `OTEL_RESOURCE_ATTRIBUTES: the value of '${key}' is not percent-encoded properly`,
      );
    }
  }
  return attributes;
}

function names<T extends string>(env: NodeJS.ProcessEnv, variable: string, allowed: readonly T[]): T[] {
  const listed = (env[variable] ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  for (const name of listed) {
    if (!(allowed as readonly string[]).includes(name))
      throw new ConfigError(`${variable}: '${name}' is not one of ${allowed.join(", ")}`);
  }
  // "none" anywhere in the list means none at all, as the specification says.
  return listed.includes("none") ? [] : [...new Set(listed as T[])];
}

function oneOf<T extends string>(
  env: NodeJS.ProcessEnv,
  variable: string,
  allowed: readonly T[],
): T | undefined {
  const value = env[variable]?.trim().toLowerCase();
  if (!value) return undefined;
  if (!(allowed as readonly string[]).includes(value))
    throw new ConfigError(`${variable}: '${value}' is not one of ${allowed.join(", ")}`);
  return value as T;
}

function protocol(env: NodeJS.ProcessEnv, signalVariable: string): OtlpProtocol {
  const variable = env[signalVariable]?.trim() ? signalVariable : "OTEL_EXPORTER_OTLP_PROTOCOL";
  const value = env[variable]?.trim().toLowerCase();
  if (!value) return "http/protobuf";
  if (value === "grpc")
    throw new ConfigError(`${variable}: grpc is not supported by the broker; use http/protobuf or http/json`);
  if (!(OTLP_PROTOCOLS as readonly string[]).includes(value))
    throw new ConfigError(`${variable}: '${value}' is not one of ${OTLP_PROTOCOLS.join(", ")}`);
  return value as OtlpProtocol;
}

function ratio(text: string | undefined, sampler: SamplerName): number {
  if (text === undefined || text.trim() === "" || !sampler.endsWith("traceidratio")) return 1;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 1)
    throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got '${text}'`);
  return value;
}

function positive(text: string | undefined, variable: string, fallback: number): number {
  if (text === undefined || text.trim() === "") return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new ConfigError(`${variable} must be a whole number of milliseconds above 0, got '${text}'`);
  return value;
}
