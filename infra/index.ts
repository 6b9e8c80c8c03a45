/**
 * Regio on Azure. This file only composes: one `Global` (resource group, registry and broker
 * image, global endpoint) and one `Region` per configured region. See "Deploy to Azure" in README.md.
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
const regions = config.regions.map(
  (region) =>
    new Region(region, {
      naming,
      settings: config,
      resourceGroupName: global.resourceGroupName,
      registry: { id: global.registry.id, loginServer: global.registry.loginServer },
      image: global.image,
      accessKey: config.accessKey,
      globalProfileName: global.profileName,
      kafkaPasswords: config.kafkaPasswords,
      peers: peers.peersOf(region),
    }),
);
peers.publish(regions);

/** Socket.IO clients: `io(clientEndpoint, { path: "/clients/socketio/hubs/<hub>/" })`. */
export const clientEndpoint = global.clientEndpoint;
/** App servers: `useRegio(io, { hub, connectionString })`. */
export const connectionString = global.connectionString;
export const registry = global.registry.loginServer;
export const image = global.image;
/** Per region: its own DNS name and every node's advertised URL. */
export const regionEndpoints = Object.fromEntries(
  regions.map((r) => [r.region, { endpoint: r.endpoint, nodes: r.nodeUrls }]),
);
