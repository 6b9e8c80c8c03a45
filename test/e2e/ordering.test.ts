import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Server } from "socket.io";
import { startLocalCluster, type BrokerHandle, type LocalCluster } from "@regio/broker";
import { useRegio, type RegioHandle } from "@regio/sdk";
import { formatConnectionString } from "@regio/protocol";
import { ACCESS_KEY, connect, HUB } from "../support/regio-harness.ts";
import { connected, until } from "../support/events.ts";
import { uniqueTopics } from "../support/topics.ts";

/**
 * On one socket.io server, what the app sends a socket arrives in the order it was sent: a
 * broadcast, then an emit to the socket, then an ack. Through Regio the broadcast goes to the app
 * server's primary node and reaches the socket's node through the log, while the emit and the ack
 * go straight to the socket's node: the node holds them until the broadcast before them arrived.
 */
describe.each([
  ["recovery off", {}],
  ["recovery on", { connectionStateRecovery: { maxDisconnectionDuration: 60_000 } }],
])("a socket's packets keep the order the app sent them (%s)", (_name, serverOptions) => {
  let cluster: LocalCluster;
  let io: Server;
  let regio: RegioHandle;
  let sessionNode: BrokerHandle;

  beforeAll(async () => {
    cluster = await startLocalCluster({
      accessKey: ACCESS_KEY,
      kafka: { eastus: inject("kafka").eastus! },
      nodesPerRegion: 2,
      topics: uniqueTopics("ord"),
      logLevel: process.env.REGIO_LOG_LEVEL ?? "silent",
    });
    const [primary, second] = cluster.regions.get("eastus")! as [BrokerHandle, BrokerHandle];
    sessionNode = second;
    io = new Server(serverOptions);
    io.on("connection", (socket) => {
      socket.on("go", (n: number, ack: (n: number) => void) => {
        io.emit("seen", n, "broadcast");
        socket.emit("seen", n, "emit");
        ack(n);
      });
    });
    regio = useRegio(io, { hub: HUB, connectionString: formatConnectionString(primary.url, ACCESS_KEY) });
    await regio.ready;
    await until(() => second.hub(HUB)?.hasAppServers === true, "the app server links to the second node");
  }, 120_000);

  afterAll(async () => {
    await io.close();
    await regio.close();
    await cluster.close();
  });

  it("delivers broadcast, emit and ack in that order, every time", async () => {
    const client = await connected(connect(sessionNode, "/", { transports: ["websocket"] }));
    try {
      const seen: string[] = [];
      client.on("seen", (n: number, how: string) => seen.push(`${n}:${how}`));
      for (let n = 0; n < 30; n++) {
        const acked = await client.timeout(10_000).emitWithAck("go", n);
        seen.push(`${acked}:ack`);
      }
      await until(() => seen.length === 90, "everything arrived");
      const expected = [...Array(30).keys()].flatMap((n) => [`${n}:broadcast`, `${n}:emit`, `${n}:ack`]);
      expect(seen).toEqual(expected);
    } finally {
      client.disconnect();
    }
  });
});
