import { afterEach, describe, expect, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { InProcessBus, type BrokerHandle } from "@regio/broker";
import {
  connect,
  startAppServer,
  startTestBroker,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { collect, connected, once, until } from "../support/events.ts";
import { startRoundRobinProxy } from "../support/round-robin-proxy.ts";

/** Two nodes of one region replicating through the in-process bus; the app server links to both. */
describe("several nodes in a region", () => {
  let nodes: BrokerHandle[] = [];
  let apps: AppServer[] = [];
  let clients: ClientSocket[] = [];
  const closers: Array<() => Promise<void>> = [];

  afterEach(async () => {
    clients.forEach((c) => c.disconnect());
    await Promise.all(apps.map(stopAppServer));
    await Promise.all(nodes.map((n) => n.close()));
    await Promise.all(closers.splice(0).map((close) => close()));
    nodes = [];
    apps = [];
    clients = [];
  });

  async function start() {
    const bus = new InProcessBus();
    for (const name of ["n1", "n2"]) {
      nodes.push(
        await startTestBroker({
          nodeId: name,
          region: "eastus",
          replicator: bus.connect(name),
          leaseMs: 1000,
        }),
      );
    }
    await until(() => nodes.every((n) => n.nodes().length === 2), "the nodes see each other");
    apps.push(
      await startAppServer(nodes[0]!, (io) => {
        io.on("connection", (socket) => {
          socket.data.node = socket.handshake.headers.host;
          socket.join("all");
          socket.on("where", (ack: (s: string) => void) => ack(String(socket.handshake.headers.host)));
        });
      }),
    );
    // The app server learned the second node from the first and links to it too.
    await until(
      () => nodes.every((n) => n.hub("chat")?.hasAppServers === true),
      "the app server links to both",
    );
  }

  it("links the app server to every node and serves clients on each", async () => {
    await start();
    for (const node of nodes) {
      for (const transport of [["websocket"], ["polling"]]) {
        const client = await connected(connect(node, "/", { transports: transport }));
        clients.push(client);
        expect(await client.emitWithAck("where")).toBe(new URL(node.url).host);
      }
    }
  });

  it("delivers a broadcast to clients on every node exactly once, in order", async () => {
    await start();
    for (const node of nodes) {
      clients.push(await connected(connect(node, "/", { transports: ["websocket"] })));
      clients.push(await connected(connect(node, "/", { transports: ["polling"] })));
    }
    const received = clients.map((c) => collect<number>(c, "n", 300));
    for (let i = 0; i < 300; i++) apps[0]!.io.to(i % 3 === 0 ? "all" : []).emit("n", i);
    for (const list of await Promise.all(received)) expect(list).toEqual([...Array(300).keys()]);
    await Promise.all(clients.map((c) => c.emitWithAck("where"))); // a duplicate would have arrived by now
  });

  it("delivers exactly once and in order when the app server fails over to another node mid-stream", async () => {
    await start();
    const watcher = await connected(connect(nodes[1]!, "/", { transports: ["websocket"] }));
    clients.push(watcher);
    const received = collect<number>(watcher, "n", 400, 20_000);
    for (let i = 0; i < 200; i++) apps[0]!.io.emit("n", i);
    // Cut the primary node's app links now: operations it executed and replicated but did not
    // acknowledge yet are re-sent by the SDK to the other node, which must not deliver them twice.
    for (const link of nodes[0]!.hub("chat")!.links.values()) link.terminate();
    for (let i = 200; i < 400; i++) apps[0]!.io.emit("n", i);
    expect(await received).toEqual([...Array(400).keys()]);
    const marker = once(watcher, "marker");
    apps[0]!.io.emit("marker");
    await marker;
  });

  it("answers fetchSockets with every node's sockets, rooms and data", async () => {
    await start();
    clients.push(await connected(connect(nodes[0]!)), await connected(connect(nodes[1]!)));
    await until(
      () => nodes.every((n) => n.hub("chat")!.index.roomSize("/", "all") === 2),
      "both views are complete",
    );
    const sockets = await apps[0]!.io.in("all").fetchSockets();
    expect(sockets.map((s) => s.data.node).sort()).toEqual(nodes.map((n) => new URL(n.url).host).sort());
    expect(sockets.every((s) => s.rooms.has("all"))).toBe(true);
  });

  it("reaches this app server's clients on every node with local broadcasts and broadcasts with acks", async () => {
    await start();
    for (const node of nodes) clients.push(await connected(connect(node)));
    clients.forEach((c, i) => c.on("vote", (ack: (n: number) => void) => ack(i)));
    const local = Promise.all(clients.map((c) => once<[string]>(c, "local")));
    apps[0]!.io.local.emit("local", "only mine");
    expect((await local).map((l) => l[0])).toEqual(["only mine", "only mine"]);
    const votes = (await apps[0]!.io.timeout(3000).emitWithAck("vote")) as number[];
    expect(votes.sort()).toEqual([0, 1]);
  });

  it("serves a polling session whose requests land on different nodes (no sticky sessions)", async () => {
    await start();
    const balancer = await startRoundRobinProxy(nodes.map((n) => n.url));
    closers.push(balancer.close);
    const client = await connected(connect(balancer, "/", { transports: ["polling"] }));
    clients.push(client);
    for (let i = 0; i < 6; i++) expect(typeof (await client.emitWithAck("where"))).toBe("string");
    const got = collect<number>(client, "n", 5);
    for (let i = 0; i < 5; i++) apps[0]!.io.emit("n", i);
    expect(await got).toEqual([0, 1, 2, 3, 4]);
    const upgraded = await connected(connect(balancer, "/", {}));
    clients.push(upgraded);
    await until(
      () => upgraded.io.engine.transport.name === "websocket",
      "the session upgraded through the balancer",
    );
    expect(typeof (await upgraded.emitWithAck("where"))).toBe("string");
  });

  it("drops a node's sockets from the view when it leaves, and keeps operating through the other", async () => {
    await start();
    clients.push(await connected(connect(nodes[0]!)));
    const survivor = await connected(connect(nodes[1]!));
    clients.push(survivor);
    await until(() => nodes[1]!.hub("chat")!.index.roomSize("/", "all") === 2, "node 2 sees both sockets");
    await nodes[0]!.close();
    await until(
      () => nodes[1]!.hub("chat")!.index.roomSize("/", "all") === 1,
      "node 1's socket left the view",
    );
    const got = once<[string]>(survivor, "after");
    apps[0]!.io.emit("after", "node 1 is gone");
    expect((await got)[0]).toBe("node 1 is gone");
    expect((await apps[0]!.io.fetchSockets()).map((s) => s.id)).toEqual([survivor.id]);
    nodes = nodes.slice(1);
  });
});
