import * as azure from "@pulumi/azure-native";
import * as pulumi from "@pulumi/pulumi";
import type { EnvVar } from "../broker-env.ts";
import type { NodeSize } from "../config.ts";
import { COLLECTOR_SIZE, collectorContainer } from "../telemetry.ts";
import { containerProbes } from "./probes.ts";

export interface NodeAppArgs {
  region: string;
  index: number;
  appName: string;
  resourceGroupName: pulumi.Input<string>;
  environmentId: pulumi.Input<string>;
  identityId: pulumi.Input<string>;
  registryServer: pulumi.Input<string>;
  image: pulumi.Input<string>;
  port: number;
  size: NodeSize;
  drainSeconds: number;
  /** The broker's environment, OpenTelemetry settings included. */
  env: EnvVar[];
  /** Container Apps secret name -> Key Vault secret URL (with version). */
  secretUrls: Record<string, pulumi.Input<string>>;
  collectorImage: string;
  appInsightsConnectionString: pulumi.Input<string>;
  /** What must be done before this node is created or updated (the rolling order, role propagation). */
  dependsOn: pulumi.Resource[];
}

/** Container Apps wants memory as decimal GiB with at most two decimals. */
const gib = (n: number) => `${Number(n.toFixed(2))}Gi`;

/**
 * One broker node: a Container App with exactly one replica, so that the app's own address
 * (`https://<app>.<environment domain>`, TLS on 443 with a certificate Azure manages, WebSockets
 * included) is the node's address, which it advertises and app servers link to.
 *
 * Updates are revisions in single-revision mode: Azure starts the new revision beside the old one
 * and moves traffic only when the new replica passes its startup and readiness probes, then stops
 * the old one with SIGTERM and `drainSeconds` to drain. A size change is a new revision like any
 * other (no replacement, no refusal).
 */
export function nodeApp(parent: pulumi.Resource, args: NodeAppArgs): azure.app.ContainerApp {
  const secretNames = Object.keys(args.secretUrls);
  return new azure.app.ContainerApp(
    `${args.region}-node-${args.index}`,
    {
      resourceGroupName: args.resourceGroupName,
      containerAppName: args.appName,
      location: args.region,
      environmentId: args.environmentId,
      workloadProfileName: "Consumption",
      identity: { type: "UserAssigned", userAssignedIdentities: [args.identityId] },
      configuration: {
        activeRevisionsMode: "Single",
        maxInactiveRevisions: 5,
        ingress: {
          external: true,
          targetPort: args.port,
          transport: "http",
          // Plain HTTP is redirected to HTTPS.
          allowInsecure: false,
          // Any node serves any request: polling requests are forwarded to the session's node.
          stickySessions: { affinity: "none" },
          traffic: [{ latestRevision: true, weight: 100 }],
        },
        registries: [{ server: args.registryServer, identity: args.identityId }],
        secrets: secretNames.map((name) => ({
          name,
          keyVaultUrl: args.secretUrls[name],
          identity: args.identityId,
        })),
      },
      template: {
        scale: { minReplicas: 1, maxReplicas: 1 },
        terminationGracePeriodSeconds: args.drainSeconds,
        containers: [
          {
            name: "broker",
            image: args.image,
            env: [
              ...args.env,
              // Secret references are app-scoped: a new Key Vault version alone would start no new
              // revision. Naming the versions here makes a secret change a rolling update.
              {
                name: "REGIO_DEPLOYED_SECRET_VERSIONS",
                value: pulumi
                  .all(
                    secretNames.map((name) => pulumi.output(args.secretUrls[name] as pulumi.Input<string>)),
                  )
                  .apply((urls) => urls.map((url) => url.split("/").pop() ?? "").join(",")),
              },
            ],
            resources: {
              cpu: args.size.cpu - COLLECTOR_SIZE.cpu,
              memory: gib(args.size.memoryGb - COLLECTOR_SIZE.memoryGb),
            },
            probes: containerProbes(args.port),
          },
          collectorContainer({
            image: args.collectorImage,
            appInsightsConnectionString: args.appInsightsConnectionString,
          }),
        ],
      },
    },
    { parent, dependsOn: args.dependsOn },
  );
}
