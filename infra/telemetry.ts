import type * as azure from "@pulumi/azure-native";
import type * as pulumi from "@pulumi/pulumi";
import type { EnvVar } from "./broker-env.ts";

/**
 * OpenTelemetry for a node: the broker exports traces and metrics over OTLP (the standard OTEL_*
 * variables, which its OpenTelemetry setup reads) to a Collector beside it in the same replica,
 * which sends them to Application Insights.
 *
 * Why a sidecar Collector and not the Container Apps managed agent: that agent forwards traces and
 * logs to Application Insights but not metrics; and Application Insights' own OTLP ingestion wants
 * Entra tokens that a static OTEL_EXPORTER_OTLP_HEADERS cannot carry. The Collector's
 * `azuremonitor` exporter (contrib distribution) takes all three signals with the connection string.
 */

/** The Collector's share of a node (the rest is the broker's): the smallest Container Apps unit. */
export const COLLECTOR_SIZE = { cpu: 0.25, memoryGb: 0.5 } as const;

/** OTLP over HTTP on the replica's loopback: containers of one replica share the network namespace. */
const OTLP_HTTP = "127.0.0.1:4318";

/** Passed to the Collector as `--config=env:…`, so no file or volume is needed. */
const CONFIG_VARIABLE = "REGIO_COLLECTOR_CONFIG";

/** Collector pipeline: OTLP in; batched, memory-capped; Application Insights out. */
export const COLLECTOR_CONFIG = `receivers:
  otlp:
    protocols:
      http:
        endpoint: ${OTLP_HTTP}
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
  batch: {}
exporters:
  azuremonitor:
    connection_string: \${env:APPLICATIONINSIGHTS_CONNECTION_STRING}
service:
  telemetry:
    logs:
      level: warn
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [azuremonitor]
    metrics:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [azuremonitor]
`;

export interface TelemetryEnvArgs {
  region: string;
  /** The node's Container App name: one instance of the service, for people reading traces. */
  nodeName: string;
  /** The Pulumi stack: tells deployments apart in a shared Application Insights. */
  deployment: string;
}

/** The broker's OpenTelemetry settings (standard OTEL_* variables). */
export function telemetryEnv(args: TelemetryEnvArgs): EnvVar[] {
  const attributes = {
    "cloud.provider": "azure",
    "cloud.region": args.region,
    "service.namespace": "regio",
    "service.instance.id": args.nodeName,
    "deployment.environment.name": args.deployment,
  };
  return [
    { name: "OTEL_SERVICE_NAME", value: "regio-broker" },
    {
      name: "OTEL_RESOURCE_ATTRIBUTES",
      value: Object.entries(attributes)
        .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
        .join(","),
    },
    { name: "OTEL_EXPORTER_OTLP_ENDPOINT", value: `http://${OTLP_HTTP}` },
    { name: "OTEL_EXPORTER_OTLP_PROTOCOL", value: "http/protobuf" },
    { name: "OTEL_TRACES_EXPORTER", value: "otlp" },
    { name: "OTEL_METRICS_EXPORTER", value: "otlp" },
    // Logs are JSON on stdout, which Container Apps ships to Log Analytics already.
    { name: "OTEL_LOGS_EXPORTER", value: "none" },
  ];
}

/** The Collector container of a node's replica. */
export function collectorContainer(args: {
  image: string;
  appInsightsConnectionString: pulumi.Input<string>;
}): azure.types.input.app.ContainerArgs {
  return {
    name: "otel-collector",
    image: args.image,
    args: [`--config=env:${CONFIG_VARIABLE}`],
    env: [
      { name: CONFIG_VARIABLE, value: COLLECTOR_CONFIG },
      // Not a secret (Azure says so of the instrumentation key it holds): it only lets one send telemetry.
      { name: "APPLICATIONINSIGHTS_CONNECTION_STRING", value: args.appInsightsConnectionString },
    ],
    resources: { cpu: COLLECTOR_SIZE.cpu, memory: `${COLLECTOR_SIZE.memoryGb}Gi` },
  };
}
