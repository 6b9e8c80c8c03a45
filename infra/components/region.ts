import * as azure from "@pulumi/azure-native";
import * as pulumi from "@pulumi/pulumi";
import { brokerEnv, brokerSecrets } from "../broker-env.ts";
import type { Settings } from "../config.ts";
import type { Naming } from "../naming.ts";
import type { PeerDirectory, RegionShare } from "../peers.ts";
import { telemetryEnv } from "../telemetry.ts";
import { containerAppsEnvironment } from "./environment.ts";
import { frontDoorEndpoint, nodeOrigin, originGroup, route } from "./front-door.ts";
import { eventHubsKafka, externalKafka, type RegionKafka } from "./kafka.ts";
import { regionVault } from "./key-vault.ts";
import { regionNotReadyAlert, sendDiagnostics, type Monitoring } from "./monitoring.ts";
import { nodeApp } from "./node-app.ts";
import { REGIONAL_PROBE } from "./probes.ts";
import { grant, ROLE, waitForRoles } from "./roles.ts";

export interface RegionArgs {
  naming: Naming;
  settings: Settings;
  /** The Pulumi stack, as telemetry names the deployment. */
  deployment: string;
  resourceGroupName: pulumi.Input<string>;
  registry: { id: pulumi.Input<string>; loginServer: pulumi.Input<string> };
  image: pulumi.Input<string>;
  /** Hub access keys, comma-separated (secret). */
  accessKey: pulumi.Input<string>;
  /** SASL passwords of external Kafka clusters, by region (secret). */
  kafkaPasswords: pulumi.Output<Record<string, string>>;
  tenantId: pulumi.Input<string>;
  frontDoor: {
    profileName: pulumi.Input<string>;
    profileId: pulumi.Input<string>;
    /** The origin group behind the global endpoint, which every node of every region joins. */
    globalOriginGroupName: pulumi.Input<string>;
  };
  monitoring: Monitoring;
  peers: PeerDirectory;
  /**
   * The node updated just before this region's first one (the previous region's last): nodes are
   * created and updated one at a time, in configuration order, each after the one before is ready.
   */
  after?: pulumi.Resource;
}

/**
 * One Regio region: its Kafka, its Key Vault, the identity its nodes act as, its Container Apps
 * environment and one Container App per node, its entries in Front Door (the global origin group,
 * and an endpoint of its own), and an alert for when it is not ready.
 */
export class Region extends pulumi.ComponentResource {
  readonly region: string;
  readonly kafka: RegionKafka;
  /** Each node's own URL, as it advertises itself. */
  readonly nodeUrls: pulumi.Output<string>[] = [];
  /** The region's own HTTPS endpoint (Front Door, over this region's nodes only). */
  readonly endpoint: pulumi.Output<string>;
  /** The last node in the update order: the next region's first node waits for it. */
  readonly lastNode: pulumi.Resource;
  /** This region's origins in the global group (the global route waits for at least one). */
  readonly globalOrigins: pulumi.Resource[] = [];
  /** What the other regions need of this one. */
  readonly share: RegionShare;

  constructor(region: string, args: RegionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("regio:azure:Region", region, {}, opts);
    const { naming, settings } = args;
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
        });
    const namespace = this.kafka.namespace;
    if (namespace) {
      sendDiagnostics(this, `${region}-kafka-logs`, {
        resourceUri: namespace.id,
        workspaceId: args.monitoring.workspaceId,
        metrics: true,
      });
    }

    const identity = new azure.managedidentity.UserAssignedIdentity(
      `${region}-identity`,
      { resourceGroupName: rg, resourceName: naming.identityName(region), location: region },
      { parent: this },
    );

    const peers = args.peers.peersOf(region);
    const { vault, secretUrls } = regionVault(this, {
      region,
      vaultName: naming.keyVault(region),
      resourceGroupName: rg,
      tenantId: args.tenantId,
      secrets: brokerSecrets(args.accessKey, this.kafka.own, peers),
    });
    sendDiagnostics(this, `${region}-vault-logs`, {
      resourceUri: vault.id,
      workspaceId: args.monitoring.workspaceId,
    });

    const holder = { naming, holder: region, principalId: identity.principalId };
    const assignments = [
      grant(this, `${region}-acr-pull`, { ...holder, role: ROLE.acrPull, scope: args.registry.id }),
      grant(this, `${region}-vault-secrets`, { ...holder, role: ROLE.keyVaultSecretsUser, scope: vault.id }),
    ];
    const grantsTo: Record<string, pulumi.Output<string>> = {};
    if (namespace && this.kafka.own.auth.kind === "entra") {
      // Entra ID: this region's nodes write and read here; every other region's only read.
      const own = { ...holder, scope: namespace.id, scopeKey: region };
      assignments.push(
        grant(this, `${region}-kafka-send`, { ...own, role: ROLE.eventHubsDataSender }),
        grant(this, `${region}-kafka-receive`, { ...own, role: ROLE.eventHubsDataReceiver }),
      );
      for (const [peer, principalId] of Object.entries(args.peers.principalsOtherThan(region))) {
        grantsTo[peer] = grant(this, `${region}-kafka-read-by-${peer}`, {
          naming,
          holder: peer,
          principalId,
          role: ROLE.eventHubsDataReceiver,
          scope: namespace.id,
          scopeKey: region,
        }).id;
      }
    }
    const rolesInForce = waitForRoles(this, `${region}-role-propagation`, {
      seconds: settings.rolePropagationSeconds,
      assignments: [
        ...assignments.map((a) => a.id),
        args.peers.grantsReceivedBy(region).apply((ids) => ids.join(",")),
      ],
    });

    const environment = containerAppsEnvironment(this, {
      region,
      environmentName: naming.environment(region),
      resourceGroupName: rg,
      workspaceId: args.monitoring.workspaceId,
    });

    const frontDoor = { resourceGroupName: rg, profileName: args.frontDoor.profileName };
    const regionalGroup = originGroup(this, `${region}-origins`, {
      ...frontDoor,
      originGroupName: region,
      probe: REGIONAL_PROBE,
    });
    const regionalOrigins: pulumi.Resource[] = [];
    const nodeUrlPattern = args.peers.nodeUrlPattern();
    let previous = args.after;
    for (let i = 0; i < settings.nodesPerRegion; i++) {
      const appName = naming.nodeApp(region, i);
      const host = pulumi.interpolate`${appName}.${environment.defaultDomain}`;
      const url = pulumi.interpolate`https://${host}`;
      this.nodeUrls.push(url);
      const app = nodeApp(this, {
        region,
        index: i,
        appName,
        resourceGroupName: rg,
        environmentId: environment.id,
        identityId: identity.id,
        registryServer: args.registry.loginServer,
        image: args.image,
        port: settings.port,
        size: settings.nodeSize,
        drainSeconds: settings.drainSeconds,
        env: [
          ...brokerEnv({
            port: settings.port,
            region,
            advertisedUrl: url,
            nodeUrlPattern,
            kafka: this.kafka.own,
            peers,
            corsOrigins: settings.corsOrigins,
            identityClientId: identity.clientId,
            drainSeconds: settings.drainSeconds,
          }),
          ...telemetryEnv({ region, nodeName: appName, deployment: args.deployment }),
        ],
        secretUrls,
        collectorImage: settings.collectorImage,
        appInsightsConnectionString: args.monitoring.appInsightsConnectionString,
        dependsOn: [rolesInForce, ...(previous ? [previous] : [])],
      });
      previous = app;
      const origin = { ...frontDoor, host, dependsOn: [app] };
      this.globalOrigins.push(
        nodeOrigin(this, `${region}-node-${i}-global-origin`, {
          ...origin,
          originGroupName: args.frontDoor.globalOriginGroupName,
          originName: `all-${region}-n${i}`,
        }),
      );
      regionalOrigins.push(
        nodeOrigin(this, `${region}-node-${i}-origin`, {
          ...origin,
          originGroupName: regionalGroup.name,
          originName: `${region}-n${i}`,
        }),
      );
    }
    this.lastNode = previous ?? rolesInForce;

    const endpoint = frontDoorEndpoint(this, `${region}-endpoint`, {
      ...frontDoor,
      endpointName: naming.frontDoorEndpoint(region),
    });
    route(this, `${region}-route`, {
      ...frontDoor,
      endpointName: endpoint.name,
      originGroupId: regionalGroup.id,
      origins: regionalOrigins,
    });
    this.endpoint = pulumi.interpolate`https://${endpoint.hostName}`;

    regionNotReadyAlert(this, `${region}-not-ready`, {
      region,
      resourceGroupName: rg,
      frontDoorProfileId: args.frontDoor.profileId,
      originGroupName: region,
      nodes: settings.nodesPerRegion,
      ...(args.monitoring.actionGroupId ? { actionGroupId: args.monitoring.actionGroupId } : {}),
    });

    const forPeers = this.kafka.forPeers;
    this.share = {
      region,
      brokers: forPeers.brokers,
      ...(forPeers.auth.kind === "sasl-plain" ? { peerPassword: forPeers.auth.password } : {}),
      principalId: identity.principalId,
      defaultDomain: environment.defaultDomain,
      grantsTo,
    };
    this.registerOutputs({ endpoint: this.endpoint, nodeUrls: this.nodeUrls });
  }
}
