import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as azure from "@pulumi/azure-native";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../config.ts";
import type { Naming } from "../naming.ts";
import { DNS_TTL_SECONDS, trafficManagerProbe } from "./probes.ts";

/** The repository root: the Docker build context (broker/Dockerfile copies broker/ and protocol/). */
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface GlobalArgs {
  naming: Naming;
  settings: Settings;
  accessKey: pulumi.Input<string>;
}

/**
 * What all regions share: the resource group, the registry with the broker image, and the global
 * endpoint (a Traffic Manager profile routing each client to the closest healthy region; each
 * `Region` adds its own entry, so adding a region only adds resources).
 */
export class Global extends pulumi.ComponentResource {
  readonly resourceGroupName: pulumi.Output<string>;
  readonly registry: azure.containerregistry.Registry;
  /** Image reference the nodes run (a digest when built here, so a new build rolls out). */
  readonly image: pulumi.Output<string>;
  readonly profileName: pulumi.Output<string>;
  /** Where Socket.IO clients connect (path `/clients/socketio/hubs/<hub>/`). */
  readonly clientEndpoint: pulumi.Output<string>;
  /** What app servers give `useRegio(io, { hub, connectionString })`. Secret. */
  readonly connectionString: pulumi.Output<string>;

  constructor(name: string, args: GlobalArgs, opts?: pulumi.ComponentResourceOptions) {
    super("regio:azure:Global", name, {}, opts);
    const { naming, settings } = args;
    const parent = { parent: this };

    const group = new azure.resources.ResourceGroup(
      "resource-group",
      { resourceGroupName: naming.resourceGroup(), location: settings.location },
      parent,
    );
    this.resourceGroupName = group.name;

    this.registry = new azure.containerregistry.Registry(
      "registry",
      {
        resourceGroupName: group.name,
        registryName: naming.registry(),
        location: settings.location,
        sku: { name: "Basic" },
        // Only for the push from the deploying machine; nodes pull with their managed identity.
        adminUserEnabled: true,
      },
      parent,
    );
    this.image = settings.image ? pulumi.output(settings.image) : this.buildImage(group);

    const profileName = naming.globalProfile();
    const profile = new azure.trafficmanager.Profile(
      "global-endpoint",
      {
        resourceGroupName: group.name,
        profileName,
        location: "global",
        profileStatus: "Enabled",
        trafficRoutingMethod: "Performance",
        dnsConfig: { relativeName: profileName, ttl: DNS_TTL_SECONDS },
        monitorConfig: trafficManagerProbe(settings.port),
      },
      parent,
    );
    this.profileName = profile.name.apply((n) => n ?? profileName);
    const fqdn = profile.dnsConfig.apply((d) => d?.fqdn);
    this.clientEndpoint = pulumi.interpolate`http://${fqdn}:${settings.port}`;
    this.connectionString = pulumi.secret(
      pulumi.interpolate`Endpoint=${this.clientEndpoint};AccessKey=${args.accessKey};Version=1.0;`,
    );

    this.registerOutputs({
      clientEndpoint: this.clientEndpoint,
      connectionString: this.connectionString,
      image: this.image,
    });
  }

  /** Builds broker/Dockerfile on the deploying machine (needs Docker there) and pushes it. */
  private buildImage(group: azure.resources.ResourceGroup): pulumi.Output<string> {
    const credentials = azure.containerregistry.listRegistryCredentialsOutput({
      resourceGroupName: group.name,
      registryName: this.registry.name,
    });
    const image = new docker.Image(
      "broker-image",
      {
        imageName: pulumi.interpolate`${this.registry.loginServer}/regio-broker:latest`,
        build: {
          context: REPO_ROOT,
          dockerfile: join(REPO_ROOT, "broker", "Dockerfile"),
          // Container Instances runs linux/amd64, whatever the deploying machine is.
          platform: "linux/amd64",
        },
        registry: {
          server: this.registry.loginServer,
          username: credentials.apply((c) => c.username ?? ""),
          password: pulumi.secret(credentials.apply((c) => c.passwords?.[0]?.value ?? "")),
        },
      },
      { parent: this },
    );
    return image.repoDigest;
  }
}
