import * as azure from "@pulumi/azure-native";
import * as pulumi from "@pulumi/pulumi";
import { signingKey, type Settings } from "../config.ts";
import type { Naming } from "../naming.ts";
import { customDomain, frontDoorEndpoint, frontDoorProfile, originGroup, route } from "./front-door.ts";
import { monitoring, sendDiagnostics, type Monitoring } from "./monitoring.ts";
import { GLOBAL_PROBE } from "./probes.ts";
import { buildBrokerImage, containerRegistry } from "./registry.ts";

export interface GlobalArgs {
  naming: Naming;
  settings: Settings;
  accessKey: pulumi.Input<string>;
}

/** What the operator adds to DNS for `frontDoor.customDomain`. */
export interface CustomDomainDns {
  /** TXT record proving the domain: name and value. */
  txtName: string;
  txtValue: pulumi.Output<string>;
  /** CNAME of the host name: where clients are sent. */
  cnameTarget: pulumi.Output<string>;
}

/** The origin group behind the global endpoint (Azure name), joined by every node of every region. */
export const GLOBAL_ORIGIN_GROUP = "all-regions";

/**
 * What all regions share: the resource group, the registry with the broker image, monitoring, and
 * the global endpoint: a Front Door profile whose endpoint sends each client to the nearest ready
 * node of any region. Each `Region` adds its own origins and endpoint, so adding a region only
 * adds resources.
 */
export class Global extends pulumi.ComponentResource {
  readonly resourceGroupName: pulumi.Output<string>;
  readonly registry: azure.containerregistry.Registry;
  /** Image reference the nodes run (a tag per source digest when built here, so a change rolls out). */
  readonly image: pulumi.Output<string>;
  readonly tenantId: pulumi.Output<string>;
  readonly monitoring: Monitoring;
  readonly frontDoor: {
    profileName: pulumi.Output<string>;
    profileId: pulumi.Output<string>;
    globalOriginGroupName: pulumi.Output<string>;
  };
  /** Where Socket.IO clients connect (path `/clients/socketio/hubs/<hub>/`). */
  readonly clientEndpoint: pulumi.Output<string>;
  /** What app servers give `useRegio(io, { hub, connectionString })`. Secret. */
  readonly connectionString: pulumi.Output<string>;
  readonly customDomainDns?: CustomDomainDns;
  private readonly globalEndpointName: pulumi.Output<string>;
  private readonly globalGroupId: pulumi.Output<string>;
  private readonly customDomainId?: pulumi.Output<string>;

  constructor(name: string, args: GlobalArgs, opts?: pulumi.ComponentResourceOptions) {
    super("regio:azure:Global", name, {}, opts);
    const { naming, settings } = args;
    const parent = { parent: this };

    const group = new azure.resources.ResourceGroup(
      "resource-group",
      { resourceGroupName: naming.resourceGroup(), location: settings.location },
      parent,
    );
    const rg = group.name;
    this.resourceGroupName = rg;
    const client = azure.authorization.getClientConfigOutput(parent);
    this.tenantId = client.tenantId;

    this.registry = containerRegistry(this, {
      resourceGroupName: rg,
      registryName: naming.registry(),
      location: settings.location,
    });
    this.image = settings.image
      ? pulumi.output(settings.image)
      : buildBrokerImage(this, { registry: this.registry, subscriptionId: client.subscriptionId });

    this.monitoring = monitoring(this, {
      resourceGroupName: rg,
      location: settings.location,
      workspaceName: naming.logWorkspace(),
      appInsightsName: naming.appInsights(),
      retentionDays: settings.logRetentionDays,
      alertEmails: settings.alertEmails,
    });

    const profile = frontDoorProfile(this, {
      resourceGroupName: rg,
      profileName: naming.frontDoor(),
      sku: settings.frontDoor.sku,
    });
    sendDiagnostics(this, "front-door-logs", {
      resourceUri: profile.id,
      workspaceId: this.monitoring.workspaceId,
      metrics: true,
    });
    const ref = { resourceGroupName: rg, profileName: profile.name };
    const endpoint = frontDoorEndpoint(this, "global-endpoint", {
      ...ref,
      endpointName: naming.frontDoorEndpoint("clients"),
    });
    const globalGroup = originGroup(this, "global-origins", {
      ...ref,
      originGroupName: GLOBAL_ORIGIN_GROUP,
      probe: GLOBAL_PROBE,
    });
    this.frontDoor = {
      profileName: profile.name,
      profileId: profile.id,
      globalOriginGroupName: globalGroup.name,
    };
    this.globalEndpointName = endpoint.name;
    this.globalGroupId = globalGroup.id;

    let host: pulumi.Output<string> = endpoint.hostName;
    const domain = settings.frontDoor.customDomain;
    if (domain) {
      const custom = customDomain(this, { ...ref, hostName: domain });
      this.customDomainId = custom.id;
      this.customDomainDns = {
        txtName: `_dnsauth.${domain}`,
        txtValue: custom.validationProperties.apply((v) => v.validationToken),
        cnameTarget: endpoint.hostName,
      };
      host = pulumi.output(domain);
    }
    this.clientEndpoint = pulumi.interpolate`https://${host}`;
    this.connectionString = pulumi.secret(
      pulumi.interpolate`Endpoint=${this.clientEndpoint};AccessKey=${pulumi.output(args.accessKey).apply(signingKey)};Version=1.0;`,
    );

    this.registerOutputs({
      clientEndpoint: this.clientEndpoint,
      connectionString: this.connectionString,
      image: this.image,
    });
  }

  /**
   * Opens the global endpoint once nodes exist: Front Door refuses a route to an empty origin
   * group, and the origins are created by the regions, after this component.
   */
  openClientRoute(origins: pulumi.Resource[]): azure.cdn.Route {
    return route(this, "global-route", {
      resourceGroupName: this.resourceGroupName,
      profileName: this.frontDoor.profileName,
      endpointName: this.globalEndpointName,
      originGroupId: this.globalGroupId,
      ...(this.customDomainId ? { customDomainIds: [this.customDomainId] } : {}),
      origins,
    });
  }
}
