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
import { startDelayProxy } from "../support/delay-proxy.ts";
import { connected, until } from "../support/events.ts";
import { uniqueTopics } from "../support/topics.ts";

const LEASE_MS = 2000;

/**
 * The brief's worst day: a whole region (its nodes and its Kafka) dies while an app server linked
 * there streams numbered broadcasts. The app server moves to the surviving region by itself, and
 * re-sends what the lost region had acknowledged but the survivors had not read: every client of
 * the surviving region gets every message once, in order.
 */
describe("a whole region SIGKILLed during a numbered broadcast stream", () => {
  const kafkas: KafkaHandle[] = [];
  const nodes: CliNode[] = [];
  const clients: ClientSocket[] = [];
  let streamer: { io: Server; regio: RegioHandle } | undefined;
  let local: AppServer | undefined;
  let proxy: { url: string; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    const [east, west] = await Promise.all([startKafka({ port: 0 }), startKafka({ port: 0 })]);
    kafkas.push(east!, west!);
  }, 120_000);

  afterAll(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    if (streamer) {
      await streamer.io.close();
      await streamer.regio.close();
    }
    if (local) await stopAppServer(local);
    await proxy?.close();
    await Promise.all(nodes.map((node) => killNode(node)));
    await Promise.all(kafkas.map((kafka) => kafka.stop()));
  });

  it("delivers every message once and in order to the surviving region, which stays ready, within 2 s", async () => {
    const [eastKafka, westKafka] = kafkas as [KafkaHandle, KafkaHandle];
    const topics = uniqueTopics("loss");
    const flags = (region: string, own: KafkaHandle, peer: string, peerKafka: KafkaHandle) => [
      "--port=0",
      `--region=${region}`,
      `--kafka=${own.brokers}`,
      `--peer=${peer}=${peerKafka.brokers}`,
      `--lease-ms=${LEASE_MS}`,
      `--topic-events=${topics.events}`,
      `--topic-membership=${topics.membership}`,
      `--topic-nodes=${topics.nodes}`,
    ];
    const started = [
      await startCliNode("east-1", flags("eastus", eastKafka, "westeurope", westKafka)),
      await startCliNode("east-2", flags("eastus", eastKafka, "westeurope", westKafka)),
      await startCliNode("west-1", flags("westeurope", westKafka, "eastus", eastKafka)),
      await startCliNode("west-2", flags("westeurope", westKafka, "eastus", eastKafka)),
    ];
    nodes.push(...started);
    const [east1, east2, west1, west2] = started as [CliNode, CliNode, CliNode, CliNode];

    // The streamer prefers eastus: westeurope is reached through a delaying proxy, so it measures farther.
    proxy = await startDelayProxy(west1.url, 25);
    const io = new Server();
    io.on("connection", (socket) => socket.join("stream"));
    const regio = useRegio(io, {
      hub: HUB,
      regions: [
        { name: "eastus", connectionString: formatConnectionString(east1.url, ACCESS_KEY) },
        { name: "westeurope", connectionString: formatConnectionString(proxy.url, ACCESS_KEY) },
      ],
    });
    streamer = { io, regio };
    const hello = await regio.ready;
    expect(hello.region).toBe("eastus");
    local = await startAppServer(west1, (server) =>
      server.on("connection", (socket) => socket.join("stream")),
    );

    // Clients of the surviving region, on both its nodes, over both transports.
    const received = new Map<ClientSocket, number[]>();
    const arrivals: Array<{ n: number; at: number }> = [];
    for (const node of [west1, west2]) {
      for (const transports of [["websocket"], ["polling"]]) {
        const client = await connected(connect(node, "/", { transports }));
        clients.push(client);
        const seen: number[] = [];
        received.set(client, seen);
        client.on("n", (n: number) => {
          seen.push(n);
          arrivals.push({ n, at: Date.now() });
        });
      }
    }
    const westClients = [...received.keys()];
    await until(
      async () => (await local!.io.in("stream").fetchSockets()).length >= westClients.length,
      "the surviving region's clients are in the room",
    );

    // Readiness of the surviving region, every 100 ms, from before the loss to the end.
    const readiness: number[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const node of [west1, west2]) readiness.push((await fetch(`${node.url}/readyz`)).status);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    // The stream: one message every 5 ms to the room; the region dies a second in.
    let next = 0;
    const emitted: Array<{ n: number; at: number }> = [];
    const ticker = setInterval(() => {
      emitted.push({ n: next, at: Date.now() });
      io.to("stream").emit("n", next++);
    }, 5);
    await until(() => next >= 200, "the stream is flowing");
    await until(
      () => westClients.every((c) => received.get(c)!.length > 0),
      "the survivors receive the stream",
    );
    const killedAt = Date.now();
    await Promise.all([killNode(east1), killNode(east2), eastKafka.kill()]);
    await until(() => Date.now() - killedAt > 3000, "the stream ran on for 3 s after the loss", 10_000);
    clearInterval(ticker);
    const total = next;

    for (const client of westClients) {
      await until(
        () => received.get(client)!.length >= total,
        `a survivor got all ${total} messages`,
        20_000,
      );
    }
    watching = false;
    await watch;

    const expected = [...Array(total).keys()];
    for (const client of westClients) expect(received.get(client)).toEqual(expected);
    // Delivering again: the first message emitted after the loss reached a survivor within 2 s of it.
    const firstAfter = emitted.find((e) => e.at > killedAt)!;
    const deliveredAt = arrivals.find((a) => a.n === firstAfter.n)!.at;
    console.log(
      `region loss: delivering again ${deliveredAt - killedAt} ms after the kill (${total} messages)`,
    );
    expect(deliveredAt - killedAt).toBeLessThan(2000);
    expect(readiness.length).toBeGreaterThan(20);
    expect(readiness.filter((status) => status !== 200)).toEqual([]);
  }, 120_000);
});
