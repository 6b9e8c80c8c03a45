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
import { collect, connected, once, until } from "../support/events.ts";
import { uniqueTopics } from "../support/topics.ts";

/**
 * Two regions of two nodes each, each region on its own real Kafka. An app server in each region
 * links to both of its region's nodes; clients sit on all four nodes, over WebSocket and polling.
 */
describe("two regions x two nodes over Kafka", () => {
  let cluster: LocalCluster;
  let east: AppServer;
  let west: AppServer;
  const clients: ClientSocket[] = [];
  const home = new Map<ClientSocket, string>();

  beforeAll(async () => {
    cluster = await startLocalCluster({
      accessKey: ACCESS_KEY,
      kafka: inject("kafka"),
      nodesPerRegion: 2,
      topics: uniqueTopics("e2e"),
      leaseMs: 3000,
      logLevel: process.env.REGIO_LOG_LEVEL ?? "silent",
    });
    const setup = (region: string) => (io: AppServer["io"]) => {
      io.on("connection", (socket) => {
        socket.data.region = region;
        socket.on("join", (room: string, ack: () => void) => {
          socket.join(room);
          ack();
        });
      });
    };
    east = await startAppServer(cluster.regions.get("eastus")![0]!, setup("eastus"));
    west = await startAppServer(cluster.regions.get("westeurope")![0]!, setup("westeurope"));
    await until(
      () => cluster.all().every((node) => node.hub("chat")?.hasAppServers === true),
      "each app server links to both nodes of its region",
    );
    for (const [region, nodes] of cluster.regions) {
      for (const node of nodes) {
        for (const transports of [["websocket"], ["polling"]]) {
          const client = await connected(connect(node, "/", { transports }));
          clients.push(client);
          home.set(client, `${region}/${node.nodeId}/${transports[0]}`);
        }
      }
    }
  }, 120_000);

  afterAll(async () => {
    clients.forEach((c) => c.disconnect());
    await Promise.allSettled([east, west].filter(Boolean).map(stopAppServer));
    await cluster?.close();
  });

  it("delivers 1,000 broadcasts from one region to clients on all four nodes, exactly once and in order", async () => {
    const expected = [...Array(1000).keys()];
    const received = clients.map((c) => collect<number>(c, "n", 1000, 60_000));
    for (const i of expected) east.io.emit("n", i);
    const lists = await Promise.all(received);
    lists.forEach((list, i) => expect(list, home.get(clients[i]!)).toEqual(expected));
    // A final marker behind the stream: any duplicate of the stream would have arrived before it.
    const markers = clients.map((c) => once(c, "marker"));
    east.io.emit("marker");
    await Promise.all(markers);
  }, 120_000);

  it("delivers a room-targeted stream only to the room's members, in every region, once and in order", async () => {
    const members = clients.filter((_, i) => i % 2 === 0);
    await Promise.all(members.map((c) => c.emitWithAck("join", "stream")));
    await until(
      () => cluster.all().every((node) => node.hub("chat")!.index.roomSize("/", "stream") === members.length),
      "every node's view has the room",
    );
    const outsiders = clients.filter((c) => !members.includes(c));
    let strays = 0;
    outsiders.forEach((c) => c.on("r", () => strays++));
    const expected = [...Array(1000).keys()];
    const received = members.map((c) => collect<number>(c, "r", 1000, 60_000));
    for (const i of expected) east.io.to("stream").emit("r", i);
    for (const list of await Promise.all(received)) expect(list).toEqual(expected);
    const markers = clients.map((c) => once(c, "marker"));
    east.io.emit("marker");
    await Promise.all(markers);
    expect(strays).toBe(0);
  }, 120_000);

  it("answers fetchSockets in one region with the other region's sockets, rooms and data", async () => {
    await until(
      async () => (await west.io.fetchSockets()).length === clients.length,
      "west sees every socket",
    );
    const sockets = await west.io.fetchSockets();
    expect(sockets).toHaveLength(clients.length);
    const eastSockets = sockets.filter((s) => s.data.region === "eastus");
    expect(eastSockets).toHaveLength(4);
    const ids = new Set(clients.map((c) => c.id));
    expect(sockets.every((s) => ids.has(s.id))).toBe(true);
    const inStream = await west.io.in("stream").fetchSockets();
    expect(inStream.map((s) => s.id).sort()).toEqual(
      clients
        .filter((_, i) => i % 2 === 0)
        .map((c) => c.id)
        .sort(),
    );
    expect(inStream.every((s) => s.rooms.has("stream"))).toBe(true);
  });

  it("applies socketsJoin and serverSideEmit across regions", async () => {
    const target = clients[0]!; // an eastus client
    west.io.in(target.id!).socketsJoin("from-west");
    await until(
      () => east.io.of("/").sockets.get(target.id!)?.rooms.has("from-west") === true,
      "the east app server applied the join",
    );
    const got = once<[string]>(target, "hello");
    west.io.to("from-west").emit("hello", "from west");
    expect((await got)[0]).toBe("from west");
    const heard = once<[string]>(east.io as never, "across");
    west.io.serverSideEmit("across", "the ocean");
    expect((await heard)[0]).toBe("the ocean");
    expect(await east.io.of("/").adapter.serverCount()).toBe(2);
  });
});
