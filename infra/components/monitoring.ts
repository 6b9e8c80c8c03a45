import * as azure from "@pulumi/azure-native";
import * as pulumi from "@pulumi/pulumi";

/**
 * What operators watch: one Log Analytics workspace per deployment (container logs, Front Door
 * access and health-probe logs, Event Hubs and Key Vault logs), Application Insights on it (the
 * brokers' traces and metrics), and an alert per region when none of its nodes is ready.
 */
export interface Monitoring {
  workspaceId: pulumi.Output<string>;
  appInsightsConnectionString: pulumi.Output<string>;
  /** Where alerts are sent; absent when no address is configured (alerts still show in the portal). */
  actionGroupId?: pulumi.Output<string>;
}

export interface MonitoringArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  workspaceName: string;
  appInsightsName: string;
  retentionDays: number;
  alertEmails: string[];
}

export function monitoring(parent: pulumi.Resource, args: MonitoringArgs): Monitoring {
  const opts = { parent };
  const workspace = new azure.operationalinsights.Workspace(
    "log-workspace",
    {
      resourceGroupName: args.resourceGroupName,
      workspaceName: args.workspaceName,
      location: args.location,
      sku: { name: "PerGB2018" },
      retentionInDays: args.retentionDays,
    },
    opts,
  );
  const appInsights = new azure.applicationinsights.Component(
    "app-insights",
    {
      resourceGroupName: args.resourceGroupName,
      resourceName: args.appInsightsName,
      location: args.location,
      kind: "web",
      applicationType: "web",
      // Workspace-based: traces and metrics land in the same workspace as the logs.
      workspaceResourceId: workspace.id,
      ingestionMode: "LogAnalytics",
    },
    opts,
  );
  const result: Monitoring = {
    workspaceId: workspace.id,
    appInsightsConnectionString: appInsights.connectionString,
  };
  if (args.alertEmails.length > 0) {
    const group = new azure.monitor.ActionGroup(
      "alert-recipients",
      {
        resourceGroupName: args.resourceGroupName,
        actionGroupName: "regio-operators",
        groupShortName: "regio",
        location: "global",
        enabled: true,
        emailReceivers: args.alertEmails.map((emailAddress, i) => ({
          name: `operator-${i + 1}`,
          emailAddress,
          useCommonAlertSchema: true,
        })),
      },
      opts,
    );
    result.actionGroupId = group.id;
  }
  return result;
}

/**
 * Sends a resource's logs (every category) and, where asked, its platform metrics to the
 * workspace. `dedicated`: one table per category (e.g. ContainerAppConsoleLogs) rather than the
 * shared AzureDiagnostics table, where the resource type supports it.
 */
export function sendDiagnostics(
  parent: pulumi.Resource,
  name: string,
  args: {
    resourceUri: pulumi.Input<string>;
    workspaceId: pulumi.Input<string>;
    dedicated?: boolean;
    metrics?: boolean;
  },
): azure.monitor.DiagnosticSetting {
  return new azure.monitor.DiagnosticSetting(
    name,
    {
      name: "regio-logs",
      resourceUri: args.resourceUri,
      workspaceId: args.workspaceId,
      logs: [{ categoryGroup: "allLogs", enabled: true }],
      ...(args.metrics ? { metrics: [{ category: "AllMetrics", enabled: true }] } : {}),
      ...(args.dedicated ? { logAnalyticsDestinationType: "Dedicated" } : {}),
    },
    { parent },
  );
}

/**
 * Fires while a region has no ready node: Front Door's share of successful /readyz probes to the
 * region's origin group (only that region's nodes) stays below half of what one ready node gives.
 * Averaged over 5 minutes and evaluated every minute, so a single failed probe or a node being
 * replaced (its old revision serves until the new one is ready) does not page anyone.
 */
export function regionNotReadyAlert(
  parent: pulumi.Resource,
  name: string,
  args: {
    region: string;
    resourceGroupName: pulumi.Input<string>;
    frontDoorProfileId: pulumi.Input<string>;
    originGroupName: string;
    nodes: number;
    actionGroupId?: pulumi.Input<string>;
  },
): azure.monitor.MetricAlert {
  return new azure.monitor.MetricAlert(
    name,
    {
      resourceGroupName: args.resourceGroupName,
      ruleName: `regio-${args.region}-not-ready`,
      description: `No node of region ${args.region} answers /readyz with 200: Front Door sends its clients to other regions. Look at the nodes' logs (ContainerAppConsoleLogs) and the region's Kafka.`,
      location: "global",
      severity: 1,
      enabled: true,
      autoMitigate: true,
      scopes: [args.frontDoorProfileId],
      evaluationFrequency: "PT1M",
      windowSize: "PT5M",
      criteria: {
        odataType: "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
        allOf: [
          {
            criterionType: "StaticThresholdCriterion",
            name: "region-origins-healthy",
            metricNamespace: "Microsoft.Cdn/profiles",
            metricName: "OriginHealthPercentage",
            dimensions: [{ name: "OriginGroup", operator: "Include", values: [args.originGroupName] }],
            operator: "LessThan",
            threshold: readinessThreshold(args.nodes),
            timeAggregation: "Average",
          },
        ],
      },
      ...(args.actionGroupId ? { actions: [{ actionGroupId: args.actionGroupId }] } : {}),
    },
    { parent },
  );
}

/** Percent of healthy probes below which not even one of `nodes` nodes is ready: half of one node's share. */
export function readinessThreshold(nodes: number): number {
  return 100 / nodes / 2;
}
