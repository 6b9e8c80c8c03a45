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

/**
 * An app server whose middlewares run again for a recovered socket (`skipMiddlewares: false`, say
 * to check a token again) and take their time: the client's connection drops while they run, after
 * the node recovered the socket and before the app server's CONNECT. The client comes back once
 * more and must get every event it missed once: socket.io-client keeps events that arrive before
 * CONNECT without taking their offsets, so any written before it would come again.
 */
describe("connection state recovery when the connection drops before the app server's CONNECT", () => {
  let broker: BrokerHandle;
  let app: AppServer;
  /** Runs in the app server's middleware for the next recovered socket, before it may connect. */
  let duringRecovery: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    broker = await startTestBroker();
    app = await startAppServer(
      broker,
      (io) => {
        io.use((socket, next) => {
          const hook = socket.recovered ? duringRecovery : undefined;
          if (!hook) return next();
          duringRecovery = undefined;
          void hook().then(() => next());
        });
        io.on("connection", (socket) => socket.join("room1"));
      },
      { connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: false } },
    );
  });
  afterAll(async () => {
    await stopAppServer(app);
    await broker.close();
  });

  it.each([["websocket"], ["polling"]])("gives every missed event once (%s)", async (transport) => {
    const client: ClientSocket = await connected(
      connect(broker, "/", { transports: [transport], reconnection: true, reconnectionDelay: 50 }),
    );
    try {
      const received: number[] = [];
      client.on("n", (n: number) => received.push(n));
      app.io.to("room1").emit("n", 1);
      await until(() => received.length === 1, "the first event arrived");
      const firstId = client.id;
      const lost = once(client, "disconnect");
      client.io.engine.close();
      await lost;
      for (let n = 2; n <= 5; n++) app.io.to("room1").emit("n", n);
      // The recovering connection drops while the middleware runs: as soon as the node's first
      // message reaches the client, or, when none comes before CONNECT (as it should), after 200 ms.
      duringRecovery = async () => {
        const engine = client.io.engine;
        await new Promise<void>((resolve) => {
          const bound = setTimeout(resolve, 200);
          engine.on("packet", (packet: { type: string }) => {
            if (packet.type !== "message") return;
            clearTimeout(bound);
            resolve();
          });
        });
        engine.close();
      };
      await once(client, "connect", 10_000);
      expect(duringRecovery).toBeUndefined();
      expect(client.id).toBe(firstId);
      expect(client.recovered).toBe(true);
      app.io.to("room1").emit("n", 6);
      await until(() => received.includes(6), "the event after recovery arrived");
      expect(received).toEqual([1, 2, 3, 4, 5, 6]);
    } finally {
      client.disconnect();
    }
  });
});
