import * as azure from "@pulumi/azure-native";
import * as pulumi from "@pulumi/pulumi";
import { brokerEnv, type PeerKafka } from "../broker-env.ts";
import type { Settings } from "../config.ts";
import type { Naming } from "../naming.ts";
import { eventHubsKafka, externalKafka, type RegionKafka } from "./kafka.ts";
import { containerProbe, DNS_TTL_SECONDS, HEALTH_PATH, READY_PATH, trafficManagerProbe } from "./probes.ts";

/** Built-in role that lets an identity pull images from a container registry. */
const ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

export interface RegionArgs {
  naming: Naming;
  settings: Settings;
  resourceGroupName: pulumi.Input<string>;
  registry: { id: pulumi.Input<string>; loginServer: pulumi.Input<string> };
  image: pulumi.Input<string>;
  accessKey: pulumi.Input<string>;
  /** The global (performance-routed) Traffic Manager profile this region joins. */
  globalProfileName: pulumi.Input<string>;
  /** SASL passwords of external Kafka clusters, by region (secret). */
  kafkaPasswords: pulumi.Output<Record<string, string>>;
  /** Every other region's Kafka (configured order). */
  peers: PeerKafka[];
}

/**
 * One Regio region: its Kafka, its broker nodes (one container group, so one public address, per
 * node: nodes advertise themselves and app servers link to each), the identity they pull the image
 * with, and its place in the global endpoint.
 */
export class Region extends pulumi.ComponentResource {
  readonly region: string;
  readonly kafka: RegionKafka;
  /** Each node's own URL, as it advertises itself. */
  readonly nodeUrls: string[];
  /** The region's own DNS name (spreads clients over the region's healthy nodes). */
  readonly endpoint: pulumi.Output<string>;

  constructor(region: string, args: RegionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("regio:azure:Region", region, {}, opts);
    const { naming, settings } = args;
    const parent = { parent: this };
    const rg = args.resourceGroupName;
    this.region = region;

    const external = settings.externalKafka[region];
    this.kafka = external
      ? externalKafka(
          external,
          args.kafkaPasswords.apply((p) => p[region]),
        )
      : eventHubsKafka(this, {
          region,
          namespaceName: naming.eventHubsNamespace(region),
          resourceGroupName: rg,
          settings: settings.eventHubs,
          topics: settings.topics,
        });

    const identity = new azure.managedidentity.UserAssignedIdentity(
      `${region}-identity`,
      { resourceGroupName: rg, resourceName: naming.identityName(region), location: region },
      parent,
    );
    const acrPull = new azure.authorization.RoleAssignment(
      `${region}-acr-pull`,
      {
        roleAssignmentName: naming.roleAssignment(region, ACR_PULL_ROLE),
        scope: args.registry.id,
        principalId: identity.principalId,
        // Skips the directory lookup that fails while a new identity is still replicating.
        principalType: "ServicePrincipal",
        roleDefinitionId: pulumi
          .output(args.registry.id)
          .apply(
            (id) =>
              `/subscriptions/${id.split("/")[2]}/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL_ROLE}`,
          ),
      },
      parent,
    );

    const profileName = naming.regionProfile(region);
    const profile = new azure.trafficmanager.Profile(
      `${region}-routing`,
      {
        resourceGroupName: rg,
        profileName,
        location: "global",
        profileStatus: "Enabled",
        // Equal weights: any node can serve any client (sessions are forwarded to their owner).
        trafficRoutingMethod: "Weighted",
        dnsConfig: { relativeName: profileName, ttl: DNS_TTL_SECONDS },
        monitorConfig: trafficManagerProbe(settings.port),
      },
      parent,
    );
    this.endpoint = pulumi.interpolate`http://${profile.dnsConfig.apply((d) => d?.fqdn)}:${settings.port}`;

    const port = settings.port;
    this.nodeUrls = [];
    for (let i = 0; i < settings.nodesPerRegion; i++) {
      const name = naming.node(region, i);
      // The DNS label is ours (not hashed by Azure), so the address is known before the node
      // exists and can be handed to the node itself as its advertised URL.
      const fqdn = `${name}.${region}.azurecontainer.io`;
      const url = `http://${fqdn}:${port}`;
      this.nodeUrls.push(url);
      const group = new azure.containerinstance.ContainerGroup(
        `${region}-node-${i}`,
        {
          resourceGroupName: rg,
          containerGroupName: name,
          location: region,
          osType: "Linux",
          sku: "Standard",
          restartPolicy: "Always",
          identity: { type: "UserAssigned", userAssignedIdentities: [identity.id] },
          imageRegistryCredentials: [{ server: args.registry.loginServer, identity: identity.id }],
          ipAddress: {
            type: "Public",
            dnsNameLabel: name,
            autoGeneratedDomainNameLabelScope: "Unsecure",
            ports: [{ port, protocol: "TCP" }],
          },
          containers: [
            {
              name: "broker",
              image: args.image,
              ports: [{ port, protocol: "TCP" }],
              resources: { requests: { cpu: settings.nodeSize.cpu, memoryInGB: settings.nodeSize.memoryGb } },
              environmentVariables: brokerEnv({
                port,
                region,
                nodeId: `${region}-${i}`,
                advertisedUrl: url,
                accessKey: args.accessKey,
                kafka: this.kafka.own,
                peers: args.peers,
              }),
              livenessProbe: containerProbe(HEALTH_PATH, port),
              readinessProbe: containerProbe(READY_PATH, port),
            },
          ],
        },
        // The pull permission must exist before the first image pull.
        { parent: this, dependsOn: [acrPull] },
      );
      new azure.trafficmanager.Endpoint(
        `${region}-node-${i}`,
        {
          resourceGroupName: rg,
          profileName: profile.name.apply((n) => n ?? profileName),
          endpointName: `node-${i}`,
          endpointType: "ExternalEndpoints",
          type: "Microsoft.Network/trafficManagerProfiles/externalEndpoints",
          target: fqdn,
          weight: 1,
          endpointStatus: "Enabled",
        },
        { parent: this, dependsOn: [group] },
      );
    }

    // The region's entry in the global endpoint: healthy while at least one node is.
    new azure.trafficmanager.Endpoint(
      `${region}-global`,
      {
        resourceGroupName: rg,
        profileName: args.globalProfileName,
        endpointName: region,
        endpointType: "NestedEndpoints",
        type: "Microsoft.Network/trafficManagerProfiles/nestedEndpoints",
        targetResourceId: profile.id,
        endpointLocation: region,
        minChildEndpoints: 1,
        endpointStatus: "Enabled",
      },
      parent,
    );

    this.registerOutputs({ endpoint: this.endpoint, nodeUrls: this.nodeUrls });
  }
}
