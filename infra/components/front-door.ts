import * as azure from "@pulumi/azure-native";
import * as pulumi from "@pulumi/pulumi";
import { FRONT_DOOR_LOAD_BALANCING } from "./probes.ts";

/**
 * Azure Front Door (Standard/Premium): TLS on 443 with certificates Front Door manages, WebSockets
 * passed through, latency-based routing with health probes on the nodes' readiness. Sessions need
 * no affinity (a polling request that lands on another node is forwarded to its owner), so
 * affinity is off; caching is off (no `cacheConfiguration`), which WebSockets require.
 */

/** What a Front Door helper needs to know of the profile. */
export interface FrontDoorRef {
  resourceGroupName: pulumi.Input<string>;
  profileName: pulumi.Input<string>;
}

export function frontDoorProfile(
  parent: pulumi.Resource,
  args: { resourceGroupName: pulumi.Input<string>; profileName: string; sku: "Standard" | "Premium" },
): azure.cdn.Profile {
  return new azure.cdn.Profile(
    "front-door",
    {
      resourceGroupName: args.resourceGroupName,
      profileName: args.profileName,
      location: "global",
      sku: { name: `${args.sku}_AzureFrontDoor` },
      // An Engine.IO long-poll is held up to the ping interval (25 s by default): more than Front
      // Door's default 30 s wait for the origin's first byte leaves too little slack.
      originResponseTimeoutSeconds: 60,
    },
    { parent },
  );
}

/** A public endpoint: `https://<name>-<hash>.<zone>.azurefd.net`. */
export function frontDoorEndpoint(
  parent: pulumi.Resource,
  name: string,
  args: FrontDoorRef & { endpointName: string },
): azure.cdn.AFDEndpoint {
  return new azure.cdn.AFDEndpoint(
    name,
    {
      resourceGroupName: args.resourceGroupName,
      profileName: args.profileName,
      endpointName: args.endpointName,
      location: "global",
      enabledState: "Enabled",
    },
    { parent },
  );
}

/** A set of nodes Front Door balances over, each probed on /readyz over HTTPS (probes.ts). */
export function originGroup(
  parent: pulumi.Resource,
  name: string,
  args: FrontDoorRef & { originGroupName: string; probe: azure.types.input.cdn.HealthProbeParametersArgs },
): azure.cdn.AFDOriginGroup {
  return new azure.cdn.AFDOriginGroup(
    name,
    {
      resourceGroupName: args.resourceGroupName,
      profileName: args.profileName,
      originGroupName: args.originGroupName,
      healthProbeSettings: args.probe,
      loadBalancingSettings: FRONT_DOOR_LOAD_BALANCING,
      sessionAffinityState: "Disabled",
    },
    { parent },
  );
}

/** One node in an origin group, reached at its own HTTPS address (Container Apps routes by host). */
export function nodeOrigin(
  parent: pulumi.Resource,
  name: string,
  args: FrontDoorRef & {
    originGroupName: pulumi.Input<string>;
    originName: string;
    host: pulumi.Input<string>;
    dependsOn: pulumi.Resource[];
  },
): azure.cdn.AFDOrigin {
  return new azure.cdn.AFDOrigin(
    name,
    {
      resourceGroupName: args.resourceGroupName,
      profileName: args.profileName,
      originGroupName: args.originGroupName,
      originName: args.originName,
      hostName: args.host,
      originHostHeader: args.host,
      httpPort: 80,
      httpsPort: 443,
      enforceCertificateNameCheck: true,
      enabledState: "Enabled",
      priority: 1,
      weight: 1000,
    },
    { parent, dependsOn: args.dependsOn },
  );
}

/**
 * Everything on an endpoint goes to one origin group, HTTPS only (plain HTTP is redirected), and
 * to the origins over HTTPS. Front Door refuses a route to an empty origin group, so the caller
 * passes the origins it must wait for.
 */
export function route(
  parent: pulumi.Resource,
  name: string,
  args: FrontDoorRef & {
    endpointName: pulumi.Input<string>;
    originGroupId: pulumi.Input<string>;
    customDomainIds?: pulumi.Input<string>[];
    origins: pulumi.Resource[];
  },
): azure.cdn.Route {
  return new azure.cdn.Route(
    name,
    {
      resourceGroupName: args.resourceGroupName,
      profileName: args.profileName,
      endpointName: args.endpointName,
      routeName: "all",
      originGroup: { id: args.originGroupId },
      patternsToMatch: ["/*"],
      supportedProtocols: ["Http", "Https"],
      httpsRedirect: "Enabled",
      forwardingProtocol: "HttpsOnly",
      linkToDefaultDomain: "Enabled",
      enabledState: "Enabled",
      ...(args.customDomainIds ? { customDomains: args.customDomainIds.map((id) => ({ id })) } : {}),
    },
    { parent, dependsOn: args.origins },
  );
}

/**
 * A host name of the operator's on the global endpoint, with a certificate Front Door issues and
 * renews. Front Door serves it once the operator has published the TXT record that proves the
 * domain theirs (`_dnsauth.<host>` = the validation token) and a CNAME to the endpoint.
 */
export function customDomain(
  parent: pulumi.Resource,
  args: FrontDoorRef & { hostName: string },
): azure.cdn.AFDCustomDomain {
  return new azure.cdn.AFDCustomDomain(
    "custom-domain",
    {
      resourceGroupName: args.resourceGroupName,
      profileName: args.profileName,
      customDomainName: args.hostName.replace(/\./g, "-"),
      hostName: args.hostName,
      tlsSettings: { certificateType: "ManagedCertificate", minimumTlsVersion: "TLS12" },
    },
    { parent },
  );
}
