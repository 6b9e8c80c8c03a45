import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/config.ts";
import { parseOtelConfig, parseResourceAttributes } from "../src/telemetry/otel-config.ts";
import { nodeResource } from "../src/telemetry/telemetry-sdk.ts";

describe("OTEL_* configuration", () => {
  it("is off by default: nothing exported, parent-based sampling", () => {
    const config = parseOtelConfig({});
    expect(config.traces.exporters).toEqual([]);
    expect(config.metrics.exporters).toEqual([]);
    expect(config.traces.sampler).toBe("parentbased_always_on");
    expect(config.traces.otlpProtocol).toBe("http/protobuf");
    expect(config.metrics.exportIntervalMs).toBe(60_000);
    expect(config.disabled).toBe(false);
  });

  it("reads exporters, protocols per signal, sampler and its ratio", () => {
    const config = parseOtelConfig({
      OTEL_TRACES_EXPORTER: "otlp, zipkin",
      OTEL_METRICS_EXPORTER: "otlp,prometheus",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "http/protobuf",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.01",
      OTEL_METRIC_EXPORT_INTERVAL: "15000",
    });
    expect(config.traces).toEqual({
      exporters: ["otlp", "zipkin"],
      otlpProtocol: "http/json",
      sampler: "parentbased_traceidratio",
      samplerRatio: 0.01,
    });
    // prometheus is what /metrics always serves: nothing more to export.
    expect(config.metrics).toEqual({
      exporters: ["otlp"],
      otlpProtocol: "http/protobuf",
      exportIntervalMs: 15_000,
    });
    expect(parseOtelConfig({ OTEL_TRACES_EXPORTER: "zipkin,none" }).traces.exporters).toEqual([]);
    expect(parseOtelConfig({ OTEL_SDK_DISABLED: "TRUE" }).disabled).toBe(true);
  });

  it("names the variable of a value it cannot honour", () => {
    const refused = (env: NodeJS.ProcessEnv) => () => parseOtelConfig(env);
    expect(refused({ OTEL_TRACES_EXPORTER: "jaeger" })).toThrow(
      new ConfigError("OTEL_TRACES_EXPORTER: 'jaeger' is not one of otlp, zipkin, console, none"),
    );
    expect(refused({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported/,
    );
    expect(refused({ OTEL_TRACES_SAMPLER: "jaeger_remote" })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(refused({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" })).toThrow(
      /OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/,
    );
    expect(refused({ OTEL_RESOURCE_ATTRIBUTES: "novalue" })).toThrow(/OTEL_RESOURCE_ATTRIBUTES/);
    expect(refused({ OTEL_METRIC_EXPORT_INTERVAL: "soon" })).toThrow(/OTEL_METRIC_EXPORT_INTERVAL/);
  });

  it("gives the node's resource its id and region unless the environment says otherwise", () => {
    const attributes = (env: NodeJS.ProcessEnv) =>
      nodeResource(parseOtelConfig(env), "east-1", "eastus").attributes;
    expect(attributes({})).toMatchObject({
      "service.name": "regio-broker",
      "service.instance.id": "east-1",
      "cloud.region": "eastus",
    });
    expect(
      attributes({
        OTEL_RESOURCE_ATTRIBUTES: "service.instance.id=pod-7,cloud.region=us-east-1",
        OTEL_SERVICE_NAME: "edge",
      }),
    ).toMatchObject({ "service.name": "edge", "service.instance.id": "pod-7", "cloud.region": "us-east-1" });
    expect(parseResourceAttributes("a=b%2Cc, d = e ")).toEqual({ a: "b,c", d: "e" });
  });
});
