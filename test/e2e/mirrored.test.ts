import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { startLocalCluster, type LocalCluster } from "@regio/broker";
import {
  ACCESS_KEY,
  connect,
  startAppServer,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { collect, connected, until } from "../support/events.ts";
import { startMirror } from "../support/mirror.ts";
import { uniqueTopics } from "../support/topics.ts";

/**
 * The MirrorMaker 2 layout: each region's nodes read only their own Kafka, where the other region's
 * topics arrive mirrored as `<region>.<topic>`.
 */
describe("regions replicating through mirrored topics", () => {
  let cluster: LocalCluster;
  const mirrors: Array<{ close(): Promise<void> }> = [];
  const apps: AppServer[] = [];
  const clients: ClientSocket[] = [];

  beforeAll(async () => {
    const kafka = inject("kafka");
    const topics = uniqueTopics("m");
    cluster = await startLocalCluster({
      accessKey: ACCESS_KEY,
      kafka,
      nodesPerRegion: 1,
      topics,
      mirrored: true,
    });
    const regions = Object.keys(kafka);
    for (const source of regions) {
      for (const target of regions.filter((r) => r !== source)) {
        mirrors.push(
          await startMirror({
            sourceRegion: source,
            source: kafka[source]!,
            target: kafka[target]!,
            topics,
          }),
        );
      }
    }
    for (const nodes of cluster.regions.values()) apps.push(await startAppServer(nodes[0]!));
  }, 120_000);

  afterAll(async () => {
    clients.forEach((c) => c.disconnect());
    await Promise.allSettled(apps.map(stopAppServer));
    await Promise.allSettled(mirrors.map((m) => m.close()));
    await cluster?.close();
  });

  it("delivers broadcasts across regions and builds the global view from mirrored topics", async () => {
    const east = cluster.regions.get("eastus")![0]!;
    const west = cluster.regions.get("westeurope")![0]!;
    const atWest = await connected(connect(west));
    const atEast = await connected(connect(east));
    clients.push(atWest, atEast);
    await until(
      () => west.nodes().some((n) => n.nodeId === east.nodeId),
      "west knows east from mirrored heartbeats",
    );
    const received = collect<number>(atWest, "n", 200, 30_000);
    for (let i = 0; i < 200; i++) apps[0]!.io.emit("n", i);
    expect(await received).toEqual([...Array(200).keys()]);
    await until(
      async () => (await apps[1]!.io.fetchSockets()).length === 2,
      "west's view holds east's socket",
    );
  }, 60_000);
});
