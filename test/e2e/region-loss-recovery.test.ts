import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Server } from "socket.io";
import type { Socket as ClientSocket } from "socket.io-client";
import { startKafka, type KafkaHandle } from "@regio/dev-kafka";
import { useRegio, type RegioHandle } from "@regio/sdk";
import { formatConnectionString } from "@regio/protocol";
import {
  ACCESS_KEY,
  connect,
  HUB,
  startAppServer,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { killNode, startCliNode, type CliNode } from "../support/cli-node.ts";
import { measuresNearer, startCliGlobal, stopProcess, type CliGlobal } from "../support/cli-global.ts";
import { startDelayProxy } from "../support/delay-proxy.ts";
import { connected, until } from "../support/events.ts";
import { uniqueTopics } from "../support/topics.ts";

const RECOVERY = { connectionStateRecovery: { maxDisconnectionDuration: 60_000 } };

/** The node that serves a client: broker session ids end with `.<nodeId>`. */
const nodeOf = (client: ClientSocket) => client.io.engine.id.split(".").pop()!;

/**
 * A whole region dies (its nodes and its Kafka) under a numbered stream, with connection state
 * recovery on: its clients come back through the global endpoint to the surviving region and get
 * their sockets back (same id, rooms, data) with every message they missed, once and in order.
 */
describe("recovery when a whole region is lost", () => {
  const kafkas: KafkaHandle[] = [];
  const nodes: CliNode[] = [];
  const clients: ClientSocket[] = [];
  const closers: Array<() => Promise<unknown>> = [];
  let global: CliGlobal | undefined;
  let ticker: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    const [east, west] = await Promise.all([startKafka({ port: 0 }), startKafka({ port: 0 })]);
    kafkas.push(east, west);
  }, 120_000);

  afterAll(async () => {
    clearInterval(ticker);
    for (const client of clients.splice(0)) client.disconnect();
    for (const close of closers.reverse()) await close().catch(() => {});
    if (global) await stopProcess(global.child);
    await Promise.all(nodes.map((node) => killNode(node)));
    await Promise.all(kafkas.map((kafka) => kafka.stop()));
  });

  it("brings every client of the lost region back in the other one, recovered, with every message once and in order", async () => {
    const [eastKafka, westKafka] = kafkas as [KafkaHandle, KafkaHandle];
    const topics = uniqueTopics("rloss");
    const flags = (region: string, own: KafkaHandle, peer: string, peerKafka: KafkaHandle) => [
      "--port=0",
      `--region=${region}`,
      `--kafka=${own.brokers}`,
      `--peer=${peer}=${peerKafka.brokers}`,
      "--lease-ms=2000",
      `--topic-events=${topics.events}`,
      `--topic-membership=${topics.membership}`,
      `--topic-nodes=${topics.nodes}`,
    ];
    for (const [id, region, own, peer, other] of [
      ["east-1", "eastus", eastKafka, "westeurope", westKafka],
      ["east-2", "eastus", eastKafka, "westeurope", westKafka],
      ["west-1", "westeurope", westKafka, "eastus", eastKafka],
      ["west-2", "westeurope", westKafka, "eastus", eastKafka],
    ] as const) {
      nodes.push(await startCliNode(id, flags(region, own, peer, other)));
    }
    const [east1, east2, west1, west2] = nodes as [CliNode, CliNode, CliNode, CliNode];
    // Clients land in eastus first: westeurope's nodes are reached through delaying proxies.
    const farWest = await Promise.all([startDelayProxy(west1.url, 10), startDelayProxy(west2.url, 10)]);
    for (const far of farWest) closers.push(() => far.close());
    global = await startCliGlobal([
      "--port=0",
      `--region=eastus=${east1.url},${east2.url}`,
      `--region=westeurope=${farWest.map((far) => far.url).join(",")}`,
      "--probe-interval=200",
    ]);

    // The streamer prefers eastus (westeurope is behind a delaying proxy) and fails over to westeurope.
    const proxy = await startDelayProxy(west1.url, 25);
    closers.push(() => proxy.close());
    const io = new Server(RECOVERY);
    io.on("connection", (socket) => socket.join("all"));
    const regio: RegioHandle = useRegio(io, {
      hub: HUB,
      regions: [
        { name: "eastus", connectionString: formatConnectionString(east1.url, ACCESS_KEY) },
        { name: "westeurope", connectionString: formatConnectionString(proxy.url, ACCESS_KEY) },
      ],
    });
    regio.onError(() => {});
    closers.push(async () => {
      await io.close();
      await regio.close();
    });
    expect((await regio.ready).region).toBe("eastus");
    const local: AppServer = await startAppServer(
      west1,
      (server) => server.on("connection", (s) => s.join("all")),
      RECOVERY,
    );
    closers.push(() => stopAppServer(local));

    // The endpoint sends new clients to the region it measures nearest: eastus, once its probes say so.
    await until(
      () => measuresNearer(global!.url, "eastus", "westeurope"),
      "the endpoint measures eastus nearer",
    );
    const watched: Array<{ client: ClientSocket; received: number[]; firstId: string }> = [];
    for (let i = 0; i < 6; i++) {
      const transports = i % 2 === 0 ? ["websocket"] : ["polling"];
      const client = await connected(
        connect({ url: global.url }, "/", {
          transports,
          reconnection: true,
          reconnectionDelay: 100,
          reconnectionDelayMax: 500,
        }),
      );
      clients.push(client);
      const received: number[] = [];
      client.on("n", (n: number) => received.push(n));
      watched.push({ client, received, firstId: client.id! });
    }
    expect(watched.every((w) => nodeOf(w.client).startsWith("east"))).toBe(true);

    let next = 0;
    ticker = setInterval(() => io.to("all").emit("n", next++), 5);
    await until(() => watched.every((w) => w.received.length > 100), "the stream reaches everyone");
    await Promise.all([killNode(east1), killNode(east2), eastKafka.kill()]);
    await until(
      () => watched.every((w) => w.client.connected && nodeOf(w.client).startsWith("west")),
      "every client is back, in westeurope",
      30_000,
    );
    const mark = next;
    await until(() => watched.every((w) => w.received.length > mark + 200), "the stream goes on", 30_000);
    clearInterval(ticker);
    const total = next;
    for (const w of watched) await until(() => w.received.length >= total, "every message arrived", 30_000);
    for (const w of watched) {
      expect(w.received).toEqual([...Array(total).keys()]);
      expect(w.client.id).toBe(w.firstId);
      expect(w.client.recovered).toBe(true);
    }
  }, 180_000);
});
