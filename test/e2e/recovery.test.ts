import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import type { BrokerHandle } from "@regio/broker";
import {
  connect,
  startAppServer,
  startTestBroker,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { connected, once, until } from "../support/events.ts";

const RECOVERY = { connectionStateRecovery: { maxDisconnectionDuration: 60_000 } };

/** socket.io-client's connection state recovery, as its own tests check it, through a broker. */
describe("connection state recovery through a node", () => {
  let broker: BrokerHandle;
  let app: AppServer;

  beforeAll(async () => {
    broker = await startTestBroker();
    app = await startAppServer(
      broker,
      (io) => {
        io.on("connection", (socket) => {
          socket.data.name = socket.handshake.auth.name;
          socket.on("join", (room: string, ack: () => void) => {
            socket.join(room);
            ack();
          });
          socket.on("who", (ack: (who: unknown) => void) =>
            ack({ recovered: socket.recovered, data: socket.data }),
          );
        });
      },
      RECOVERY,
    );
  });
  afterAll(async () => {
    await stopAppServer(app);
    await broker.close();
  });

  it.each([["websocket"], ["polling"]])(
    "gives a client that lost its transport (%s) its socket back: same id, rooms, data, and every missed event in order",
    async (transport) => {
      const client: ClientSocket = await connected(
        connect(broker, "/", {
          transports: [transport],
          reconnection: true,
          reconnectionDelay: 50,
          auth: { name: "ada" },
        }),
      );
      try {
        await client.timeout(5000).emitWithAck("join", "room1");
        const received: number[] = [];
        client.on("n", (n: number) => received.push(n));
        app.io.to("room1").emit("n", 1);
        await until(() => received.length === 1, "the first event arrived");
        const firstId = client.id;

        // The transport is lost; events go on meanwhile.
        const lost = once(client, "disconnect");
        client.io.engine.close();
        await lost;
        for (let n = 2; n <= 5; n++) app.io.to("room1").emit("n", n);
        await once(client, "connect", 10_000);
        expect(client.id).toBe(firstId);
        expect(client.recovered).toBe(true);
        app.io.to("room1").emit("n", 6);
        await until(() => received.length >= 6, "every event arrived");
        expect(received).toEqual([1, 2, 3, 4, 5, 6]);
        expect(await client.timeout(5000).emitWithAck("who")).toEqual({
          recovered: true,
          data: { name: "ada" },
        });
      } finally {
        client.disconnect();
      }
    },
  );

  it("connects a client whose session cannot be recovered as a new socket", async () => {
    const client = await connected(
      connect(broker, "/", { transports: ["websocket"], reconnection: true, reconnectionDelay: 50 }),
    );
    try {
      const firstId = client.id;
      // An offset this node never wrote: nothing to recover from.
      (client as unknown as { _lastOffset: string })._lastOffset = "not-an-offset";
      const lost = once(client, "disconnect");
      client.io.engine.close();
      await lost;
      await once(client, "connect", 10_000);
      expect(client.recovered).toBe(false);
      expect(client.id).not.toBe(firstId);
    } finally {
      client.disconnect();
    }
  });
});
