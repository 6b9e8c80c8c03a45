import { afterEach, describe, expect, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { InProcessBus, startGlobalEndpoint, type GlobalEndpointHandle, type NodeStatus } from "@regio/broker";
import { clientPath } from "@regio/protocol";
import {
  connect,
  HUB,
  startAppServer,
  startTestBroker,
  stopAppServer,
  TRANSPORTS,
} from "../support/regio-harness.ts";
import { connected, until } from "../support/events.ts";
import { startDelayProxy } from "../support/delay-proxy.ts";

/** The node that serves a client: broker session ids end with `.<nodeId>`. */
const nodeOf = (client: ClientSocket) => client.io.engine.id.split(".").pop();

/** The global endpoint in front of in-process broker nodes, each a lone node with its own app server. */
describe("global endpoint routing", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  const clients: ClientSocket[] = [];
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.disconnect());
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A lone node with an app server of its own (it echoes); `port` to come back at the same address. */
  const startNode = async (nodeId: string, port = 0) => {
    const broker = await startTestBroker({ nodeId, port, replicator: new InProcessBus().connect(nodeId) });
    const app = await startAppServer(broker, (io) =>
      io.on("connection", (socket) => {
        socket.on("echo", (n: number, ack: (n: number) => void) => ack(n));
        socket.on("headers", (ack: (headers: object) => void) => ack(socket.handshake.headers));
      }),
    );
    let running = true;
    const stop = async () => {
      if (!running) return;
      running = false;
      await stopAppServer(app);
      await broker.close();
    };
    cleanups.push(stop);
    return { url: broker.url, port: broker.port, stop };
  };

  const startGlobal = async (regions: { name: string; nodes: string[] }[], probeIntervalMs = 100) => {
    const endpoint = await startGlobalEndpoint({
      regions,
      port: 0,
      probeIntervalMs,
      downAfter: 3,
      upAfter: 2,
    });
    cleanups.push(() => endpoint.close());
    return endpoint;
  };
  const nodeStatus = (endpoint: GlobalEndpointHandle, url: string): NodeStatus =>
    endpoint
      .status()
      .flatMap((r) => r.nodes)
      .find((n) => n.url === url)!;
  const client = async (endpoint: GlobalEndpointHandle, transport = "websocket") => {
    const socket = connect(endpoint, "/", TRANSPORTS[transport]);
    clients.push(socket);
    return connected(socket);
  };

  it("takes a node out after the failed probes it is told, and back after the good ones", async () => {
    const n1 = await startNode("n1");
    let n2 = await startNode("n2");
    const n2Url = n2.url;
    const global = await startGlobal([{ name: "eastus", nodes: [n1.url, n2.url] }]);
    expect(nodeStatus(global, n2Url)).toMatchObject({ nodeId: "n2", healthy: true });
    // New clients take the healthy nodes in turn.
    const first = await Promise.all([1, 2, 3, 4].map(() => client(global)));
    expect(first.map(nodeOf).sort()).toEqual(["n1", "n1", "n2", "n2"]);

    // Every state the prober goes through, as the status page shows it.
    const seen: NodeStatus[] = [];
    const watch = (healthy: boolean) =>
      until(
        () => {
          seen.push(nodeStatus(global, n2Url));
          return seen.at(-1)!.healthy === healthy;
        },
        `n2 is ${healthy ? "back" : "out"}`,
      );

    await n2.stop();
    await watch(false);
    // Healthy through the first two failures; out at the third (--down-after 3).
    expect(seen.filter((s) => s.consecutiveFailures > 0 && s.consecutiveFailures < 3).length).toBeGreaterThan(
      0,
    );
    expect(seen.every((s) => s.healthy === s.consecutiveFailures < 3)).toBe(true);
    expect(seen.at(-1)!.lastError).toBe("ECONNREFUSED");
    // Out, it has no round-trip time: the one from before would weigh on its samples once back.
    expect(seen.filter((s) => s.healthy).every((s) => s.rttMs !== undefined)).toBe(true);
    expect(seen.at(-1)!.rttMs).toBeUndefined();
    const during = await Promise.all([1, 2, 3].map(() => client(global, "polling")));
    expect(during.map(nodeOf)).toEqual(["n1", "n1", "n1"]);
    expect((await fetch(`${global.url}/readyz`)).status).toBe(200);

    n2 = await startNode("n2", n2.port);
    seen.length = 0;
    await watch(true);
    // Still out after one good probe; back at the second (--up-after 2).
    expect(seen.some((s) => s.consecutiveSuccesses === 1 && !s.healthy)).toBe(true);
    expect(seen.at(-1)!.consecutiveSuccesses).toBe(2);
    expect(seen.at(-1)!.rttMs).toBeGreaterThan(0);
    const after = await Promise.all([1, 2].map(() => client(global)));
    expect(after.map(nodeOf).sort()).toEqual(["n1", "n2"]);

    // No healthy region at all: not ready, and a new client is refused with the reason.
    await n1.stop();
    await n2.stop();
    await until(() => global.status().every((r) => !r.healthy), "every node is out");
    const ready = await fetch(`${global.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: "no healthy region", regions: { eastus: false } });
    const handshake = await fetch(`${global.url}${clientPath(HUB)}/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(503);
    expect(((await handshake.json()) as { code: string }).code).toBe("NO_HEALTHY_REGION");
  });

  it("sends new clients to the region with the lowest round-trip time, not the first one listed", async () => {
    const far = await startNode("far");
    const near = await startNode("near");
    // "far" is listed first but sits behind 40 ms of added latency each way.
    const proxy = await startDelayProxy(far.url, 40);
    cleanups.push(() => proxy.close());
    const global = await startGlobal([
      { name: "farland", nodes: [proxy.url] },
      { name: "nearland", nodes: [near.url] },
    ]);
    const [farland, nearland] = global.status();
    expect(farland!.rttMs!).toBeGreaterThan(nearland!.rttMs! + 40);
    const landed = await Promise.all(
      ["websocket", "polling", "upgrade"].map((transport) => client(global, transport)),
    );
    expect(landed.map(nodeOf)).toEqual(["near", "near", "near"]);

    // The near region goes away: new clients go to the far one, through its proxy.
    await near.stop();
    await until(() => !global.status()[1]!.healthy, "nearland is out");
    expect(nodeOf(await client(global, "polling"))).toBe("far");
  });

  it("sends a new client to another node at once when its node refuses the connection", async () => {
    const n1 = await startNode("n1");
    const n2 = await startNode("n2");
    // Probes a minute apart: only the refused connection itself can tell that n2 is gone.
    const global = await startGlobal([{ name: "eastus", nodes: [n1.url, n2.url] }], 60_000);
    await n2.stop();
    expect(global.status()[0]!.nodes.every((n) => n.healthy)).toBe(true);
    const landed = await Promise.all(
      ["websocket", "polling", "websocket", "polling"].map((transport) => client(global, transport)),
    );
    expect(landed.map(nodeOf)).toEqual(["n1", "n1", "n1", "n1"]);
  });

  it("sends every request of a session to the node its id names", async () => {
    // Lone nodes that do not know each other: a request for n2's session at n1 would fail there.
    const nodes = [await startNode("n1"), await startNode("n2")];
    const global = await startGlobal([{ name: "eastus", nodes: nodes.map((n) => n.url) }]);
    const polling = await Promise.all([1, 2, 3, 4].map(() => client(global, "polling")));
    expect(polling.map(nodeOf).sort()).toEqual(["n1", "n1", "n2", "n2"]);
    // Each emit is a POST of the session and each acknowledgement comes with a GET of it.
    for (const socket of polling) {
      for (let i = 0; i < 5; i++) expect(await socket.timeout(5000).emitWithAck("echo", i)).toBe(i);
    }
    expect(polling.every((socket) => socket.connected)).toBe(true);
    // The app sees who the client is, as behind any proxy.
    expect(await polling[0]!.emitWithAck("headers")).toMatchObject({
      "x-forwarded-for": "127.0.0.1",
      "x-forwarded-proto": "http",
    });
  });
});
