/**
 * Regio on Azure. This file only composes: one `Global` (resource group, registry and broker
 * image, monitoring, the Front Door global endpoint) and one `Region` per configured region, then
 * opens the global route once the regions' nodes exist. See "Deploy to Azure" in README.md and
 * docs/adr/0006-azure-tls-and-routing.md.
 */
import * as pulumi from "@pulumi/pulumi";
import { Global } from "./components/global.ts";
import { Region } from "./components/region.ts";
import { loadConfig } from "./config.ts";
import { Naming } from "./naming.ts";
import { PeerDirectory } from "./peers.ts";

const config = loadConfig();
const naming = new Naming({ project: pulumi.getProject(), stack: pulumi.getStack(), salt: config.nameSalt });

const global = new Global("global", { naming, settings: config, accessKey: config.accessKey });

const peers = new PeerDirectory(config);
const regions: Region[] = [];
for (const name of config.regions) {
  regions.push(
    new Region(name, {
      naming,
      settings: config,
      deployment: pulumi.getStack(),
      resourceGroupName: global.resourceGroupName,
      registry: { id: global.registry.id, loginServer: global.registry.loginServer },
      image: global.image,
      accessKey: config.accessKey,
      kafkaPasswords: config.kafkaPasswords,
      tenantId: global.tenantId,
      frontDoor: global.frontDoor,
      monitoring: global.monitoring,
      peers,
      // One node at a time across the whole deployment: this region starts after the previous one.
      after: regions.at(-1)?.lastNode,
    }),
  );
}
peers.publish(regions.map((r) => r.share));
global.openClientRoute(regions.flatMap((r) => r.globalOrigins));

/** Socket.IO clients: `io(clientEndpoint, { path: "/clients/socketio/hubs/<hub>/" })`. */
export const clientEndpoint = global.clientEndpoint;
/** App servers: `useRegio(io, { hub, connectionString })`. Secret. */
export const connectionString = global.connectionString;
export const registry = global.registry.loginServer;
export const image = global.image;
/** Per region: its own endpoint (Front Door over its nodes only) and every node's advertised URL. */
export const regionEndpoints = Object.fromEntries(
  regions.map((r) => [r.region, { endpoint: r.endpoint, nodes: r.nodeUrls }]),
);
/** App servers with `useRegio(io, { hub, regions: [...] })`: one connection string per region. Secret. */
export const regionConnectionStrings = pulumi.secret(
  Object.fromEntries(
    regions.map((r) => [
      r.region,
      pulumi
        .all([r.endpoint, global.connectionString])
        .apply(([endpoint, global]) => global.replace(/^Endpoint=[^;]*;/, `Endpoint=${endpoint};`)),
    ]),
  ),
);
/** DNS records to publish when `frontDoor.customDomain` is set. */
export const customDomainDns = global.customDomainDns;
