import { describe, expect, it } from "vitest";
import { readinessThreshold } from "../components/monitoring.ts";
import { COLLECTOR_CONFIG } from "../telemetry.ts";
import { brokerOf, containersOf, regionOf, runProgram, T, type Run } from "./harness.ts";

const REGIONS = ["westeurope", "eastus"];

const workspaceIdOf = (run: Run) =>
  new RegExp(`/${String(run.one(T.workspace, "log-workspace").inputs.workspaceName)}$`);

function otelEnv(env: { name: string; value?: string }[]): Record<string, string> {
  return Object.fromEntries(
    env.filter((e) => e.name.startsWith("OTEL_")).map((e) => [e.name, String(e.value)]),
  );
}

describe("operators can watch it", () => {
  it("keeps every log in one Log Analytics workspace, with Application Insights on it", async () => {
    const run = await runProgram({ config: { regions: REGIONS, logRetentionDays: 90 } });
    expect(run.of(T.workspace)).toHaveLength(1);
    expect(run.one(T.workspace, "log-workspace").inputs.retentionInDays).toBe(90);
    const insights = run.one(T.appInsights, "app-insights").inputs;
    expect(String(insights.workspaceResourceId)).toMatch(workspaceIdOf(run));

    const settings = run.of(T.diagnostics);
    const sent = (pattern: RegExp) => settings.filter((d) => pattern.test(String(d.inputs.resourceUri)));
    for (const d of settings) {
      expect(String(d.inputs.workspaceId)).toMatch(workspaceIdOf(run));
      expect(d.inputs.logs).toEqual([{ categoryGroup: "allLogs", enabled: true }]);
    }
    for (const region of REGIONS) {
      // Container logs outlive their replicas: the environment ships them to the workspace.
      const env = run.one(T.environment, `${region}-environment`);
      expect(env.inputs.appLogsConfiguration).toEqual({ destination: "azure-monitor" });
      const envName = String(env.inputs.environmentName);
      expect(sent(new RegExp(`/${envName}$`))).toHaveLength(1);
      expect(sent(new RegExp(`/${envName}$`))[0]?.inputs.logAnalyticsDestinationType).toBe("Dedicated");
      const ns = String(run.one(T.namespace, `${region}-kafka`).inputs.namespaceName);
      expect(sent(new RegExp(`/${ns}$`))).toHaveLength(1);
      const vault = String(run.one(T.vault, `${region}-vault`).inputs.vaultName);
      expect(sent(new RegExp(`/${vault}$`))).toHaveLength(1);
    }
    const frontDoor = String(run.one(T.profile, "front-door").inputs.profileName);
    expect(sent(new RegExp(`/${frontDoor}$`))).toHaveLength(1);
  });

  it("exports each broker's traces and metrics over OTLP to a Collector beside it, which sends them to Application Insights", async () => {
    const run = await runProgram({ config: { regions: REGIONS, nodesPerRegion: 2 } });
    const connection = "InstrumentationKey=ikey-of-";
    for (const app of run.of(T.app)) {
      const broker = otelEnv(brokerOf(app).env);
      expect(broker).toMatchObject({
        OTEL_SERVICE_NAME: "regio-broker",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_METRICS_EXPORTER: "otlp",
      });
      const attributes = Object.fromEntries(
        (broker.OTEL_RESOURCE_ATTRIBUTES ?? "").split(",").map((kv) => kv.split("=") as [string, string]),
      );
      expect(attributes["cloud.region"]).toBe(regionOf(app));
      expect(attributes["service.instance.id"]).toBe(app.inputs.containerAppName);

      const collector = containersOf(app).find((c) => c.name === "otel-collector");
      expect(collector?.image).toMatch(/opentelemetry-collector-contrib:\d+\.\d+\.\d+$/);
      expect(collector?.args).toEqual(["--config=env:REGIO_COLLECTOR_CONFIG"]);
      const env = Object.fromEntries((collector?.env ?? []).map((e) => [e.name, String(e.value)]));
      expect(env.REGIO_COLLECTOR_CONFIG).toBe(COLLECTOR_CONFIG);
      expect(env.APPLICATIONINSIGHTS_CONNECTION_STRING).toContain(connection);
    }
    // The Collector listens where the brokers send, and sends traces and metrics to Azure Monitor.
    expect(COLLECTOR_CONFIG).toContain("endpoint: 127.0.0.1:4318");
    for (const pipeline of ["traces", "metrics"]) {
      expect(COLLECTOR_CONFIG).toMatch(
        new RegExp(`${pipeline}:\\n\\s+receivers: \\[otlp\\]\\n.*\\n\\s+exporters: \\[azuremonitor\\]`),
      );
    }
  });

  it("alerts when a region is not ready, on Front Door's probes of that region's nodes only", async () => {
    const run = await runProgram({
      config: { regions: REGIONS, nodesPerRegion: 3, alertEmails: ["ops@example.com"] },
    });
    const profileId = new RegExp(`/${String(run.one(T.profile, "front-door").inputs.profileName)}$`);
    const group = run.one(T.actionGroup, "alert-recipients");
    expect(group.inputs.emailReceivers).toEqual([
      { name: "operator-1", emailAddress: "ops@example.com", useCommonAlertSchema: true },
    ]);
    expect(run.of(T.metricAlert)).toHaveLength(REGIONS.length);
    for (const region of REGIONS) {
      const alert = run.one(T.metricAlert, `${region}-not-ready`).inputs;
      expect(alert).toMatchObject({ enabled: true, evaluationFrequency: "PT1M", windowSize: "PT5M" });
      expect((alert.scopes as string[]).map(String)).toEqual([expect.stringMatching(profileId)]);
      const criteria = alert.criteria as { allOf: Record<string, unknown>[] };
      expect(criteria.allOf).toEqual([
        expect.objectContaining({
          metricNamespace: "Microsoft.Cdn/profiles",
          metricName: "OriginHealthPercentage",
          operator: "LessThan",
          threshold: readinessThreshold(3),
          timeAggregation: "Average",
          dimensions: [{ name: "OriginGroup", operator: "Include", values: [region] }],
        }),
      ]);
      // That origin group is exactly the region's nodes.
      const hosts = run
        .of(T.origin)
        .filter((o) => o.inputs.originGroupName === region)
        .map((o) => o.inputs.hostName);
      expect(hosts).toHaveLength(3);
      expect(alert.actions).toEqual([{ actionGroupId: expect.stringMatching(/\/regio-operators$/) }]);
    }
  });

  it("still creates the alerts without anyone to mail (they show in the portal)", async () => {
    const run = await runProgram({ config: { regions: REGIONS } });
    expect(run.of(T.actionGroup)).toEqual([]);
    for (const alert of run.of(T.metricAlert)) expect(alert.inputs.actions).toBeUndefined();
    expect(run.of(T.metricAlert)).toHaveLength(2);
  });
});
