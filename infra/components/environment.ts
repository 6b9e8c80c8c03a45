import * as azure from "@pulumi/azure-native";
import type * as pulumi from "@pulumi/pulumi";
import { sendDiagnostics } from "./monitoring.ts";

/**
 * A region's Container Apps environment: the nodes' shared network and ingress, on the Consumption
 * workload profile (billed per node-second, up to 4 vCPU / 8 GiB a node). Its default domain names
 * every node, `https://<app>.<domain>`, with a certificate Azure issues for it. Console and system
 * logs go to Azure Monitor and from there, by diagnostic setting, to the deployment's workspace:
 * no workspace key is needed, and logs outlive the replicas that wrote them.
 */
export function containerAppsEnvironment(
  parent: pulumi.Resource,
  args: {
    region: string;
    environmentName: string;
    resourceGroupName: pulumi.Input<string>;
    workspaceId: pulumi.Input<string>;
  },
): azure.app.ManagedEnvironment {
  const environment = new azure.app.ManagedEnvironment(
    `${args.region}-environment`,
    {
      resourceGroupName: args.resourceGroupName,
      environmentName: args.environmentName,
      location: args.region,
      workloadProfiles: [{ name: "Consumption", workloadProfileType: "Consumption" }],
      appLogsConfiguration: { destination: "azure-monitor" },
    },
    { parent },
  );
  sendDiagnostics(parent, `${args.region}-environment-logs`, {
    resourceUri: environment.id,
    workspaceId: args.workspaceId,
    dedicated: true,
  });
  return environment;
}
