import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { BrokerHandle } from "@regio/broker";
import { clientPath } from "@regio/protocol";
import {
  connect,
  HUB,
  startAppServer,
  startTestBroker,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { connected, once } from "../support/events.ts";

/**
 * What a node does with a session while it idles, now that its sessions share the hub's listeners,
 * settings and timer callback (an idle client's heap): the connect timeout still fires for the
 * session that never connects, and only for it; the handshake the app server sees is complete.
 */
describe("idle client sessions", () => {
  let broker: BrokerHandle | undefined;
  let app: AppServer | undefined;

  afterEach(async () => {
    if (app) await stopAppServer(app);
    await broker?.close();
    app = undefined;
    broker = undefined;
  });

  it("closes a session that joins no namespace within connectTimeout, and keeps one that did", async () => {
    broker = await startTestBroker({ connectTimeout: 300 });
    app = await startAppServer(broker);
    const client = await connected(connect(broker, "/", { transports: ["websocket"] }));

    const url = `${broker.url.replace("http", "ws")}${clientPath(HUB)}?EIO=4&transport=websocket`;
    const silent = new WebSocket(url);
    const [open] = await once<[Buffer]>(silent, "message");
    expect(open.toString()).toMatch(/^0\{"sid":/);
    // It never sends a CONNECT ("40"): the node closes it, as socket.io closes such a client.
    await once(silent, "close");
    expect(client.connected).toBe(true);
    client.disconnect();
  });

  it("gives the app server the client's headers, query and address after the raw lines are released", async () => {
    broker = await startTestBroker();
    app = await startAppServer(broker);
    const client = await connected(
      connect(broker, "/", {
        transports: ["websocket"],
        extraHeaders: { cookie: "session=abc", "x-many": "one" },
        query: { room: "lobby" },
      }),
    );
    const [socket] = await app.io.fetchSockets();
    expect(socket!.handshake.headers.cookie).toBe("session=abc");
    expect(socket!.handshake.headers["x-many"]).toBe("one");
    expect(socket!.handshake.query).toMatchObject({ room: "lobby", EIO: "4", transport: "websocket" });
    expect(socket!.handshake.address).toMatch(/127\.0\.0\.1/);
    client.disconnect();
  });

  it("gives each client its own handshake when many share their headers and URL (held once on the node)", async () => {
    broker = await startTestBroker();
    app = await startAppServer(broker);
    const options = (cookie: string, room: string) => ({
      transports: ["websocket"],
      extraHeaders: { cookie, "user-agent": "Mozilla/5.0 (shared)", "accept-language": "en-US" },
      query: { room },
    });
    const clients = await Promise.all([
      connected(connect(broker, "/", options("session=1", "lobby"))),
      connected(connect(broker, "/", options("session=2", "lobby"))),
      connected(connect(broker, "/", options("session=3", "other"))),
    ]);
    const byCookie = new Map(
      (await app.io.fetchSockets()).map((socket) => [socket.handshake.headers.cookie, socket]),
    );
    const rooms = { "session=1": "lobby", "session=2": "lobby", "session=3": "other" };
    for (const [cookie, room] of Object.entries(rooms)) {
      const { handshake } = byCookie.get(cookie)!;
      expect(handshake.headers["user-agent"]).toBe("Mozilla/5.0 (shared)");
      expect(handshake.headers["accept-language"]).toBe("en-US");
      expect(handshake.query).toMatchObject({ room, EIO: "4", transport: "websocket" });
      expect(handshake.url).toContain(`room=${room}`);
    }
    // Each client found by its own socket id has its own cookie.
    for (const [i, client] of clients.entries()) {
      const [remote] = await app.io.in(client.id!).fetchSockets();
      expect(remote!.handshake.headers.cookie).toBe(`session=${i + 1}`);
      client.disconnect();
    }
  });

  it("keeps serving a session that upgraded from polling to WebSocket, with its handshake", async () => {
    broker = await startTestBroker();
    app = await startAppServer(broker, (io) =>
      io.on("connection", (socket) => socket.on("ping?", (ack: (v: string) => void) => ack("pong"))),
    );
    const client = await connected(connect(broker, "/", { extraHeaders: { cookie: "session=up" } }));
    if (client.io.engine.transport.name !== "websocket") await once(client.io.engine, "upgrade");
    expect(await client.emitWithAck("ping?")).toBe("pong");
    const [socket] = await app.io.fetchSockets();
    expect(socket!.handshake.headers.cookie).toBe("session=up");
    client.disconnect();
  });
});
