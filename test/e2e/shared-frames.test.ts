import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrokerHandle } from "@regio/broker";
import type { Socket as ClientSocket } from "socket.io-client";
import {
  connect,
  startAppServer,
  startTestBroker,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { connected, until } from "../support/events.ts";

/**
 * A node writes what each WebSocket client is given in a tick with one write, clients given the
 * same sharing one buffer, and moves one shared cursor for a burst to everyone (docs/adr/0010).
 * Whatever else a client is given in the same tick (its own emit, a room's broadcast, a volatile
 * packet) must still reach it, and only it, in the order the app sent it.
 */
describe("one write per client per tick, frames shared", () => {
  let broker: BrokerHandle;
  let app: AppServer;

  beforeAll(async () => {
    broker = await startTestBroker();
    app = await startAppServer(broker, (io) => {
      io.on("connection", (socket) => {
        if (socket.handshake.auth.red) void socket.join("red");
        socket.on("burst", (target: string) => {
          // One synchronous burst: the node gets it in one tick (or a few, in the same order).
          io.emit("m", "all-1");
          io.emit("m", "all-2");
          io.to(target).emit("m", "only-target");
          io.to("red").emit("m", "red");
          io.except("red").emit("m", "not-red");
          app.io.of("/").sockets.get(target)?.emit("m", "own");
          io.volatile.emit("m", "volatile");
          io.emit("m", "all-3");
          io.emit("done");
        });
      });
    });
  });

  afterAll(async () => {
    await stopAppServer(app);
    await broker.close();
  });

  it("gives each client its own sequence, in the order sent, burst after burst", async () => {
    const names = ["red", "target", "plain"] as const;
    const clients = await Promise.all(
      names.map((name) =>
        connected(connect(broker, "/", { transports: ["websocket"], auth: { red: name === "red" } })),
      ),
    );
    const [red, target, plain] = clients as [ClientSocket, ClientSocket, ClientSocket];
    await until(() => app.io.of("/").sockets.size === 3, "three sockets connected");
    const seen = new Map<ClientSocket, string[]>(clients.map((c) => [c, []]));
    const done = new Map<ClientSocket, number>(clients.map((c) => [c, 0]));
    for (const client of clients) {
      client.on("m", (m: string) => seen.get(client)!.push(m));
      client.on("done", () => done.set(client, done.get(client)! + 1));
    }
    for (let burst = 1; burst <= 5; burst++) {
      plain.emit("burst", target.id);
      await until(() => clients.every((c) => done.get(c) === burst), `burst ${burst} done everywhere`);
    }
    // A volatile packet goes only to a client with no write in flight: after the burst's first
    // packets, none, so it is dropped everywhere (as on plain socket.io over WebSocket).
    const once = (own: string[]) => ["all-1", "all-2", ...own, "all-3"];
    expect(seen.get(red)).toEqual(
      Array(5)
        .fill(once(["red"]))
        .flat(),
    );
    expect(seen.get(target)).toEqual(
      Array(5)
        .fill(once(["only-target", "not-red", "own"]))
        .flat(),
    );
    expect(seen.get(plain)).toEqual(
      Array(5)
        .fill(once(["not-red"]))
        .flat(),
    );
    clients.forEach((c) => c.disconnect());
  });
});
