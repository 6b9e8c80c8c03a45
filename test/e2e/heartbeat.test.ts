import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Socket as ClientSocket } from "socket.io-client";
import type { Socket as ServerSocket } from "socket.io";
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
import { connected, once, until } from "../support/events.ts";

/** Short, so that a test sees several pings and a timeout; the node's slot is then 15 ms. */
const PING_INTERVAL = 150;
const PING_TIMEOUT = 300;
/** For clients that answer: long enough that a busy machine (a whole test run) does not time them out. */
const LIVE_PING_TIMEOUT = 5000;

/**
 * The node keeps Engine.IO's heartbeat of its WebSocket sessions on one schedule (ADR 0011):
 * clients are pinged every pingInterval, closed with "ping timeout" when no pong comes within
 * pingTimeout, over WebSocket from the start or after an upgrade from polling.
 */
describe("heartbeat", () => {
  const brokers: BrokerHandle[] = [];
  const apps: AppServer[] = [];
  const clients: ClientSocket[] = [];
  const raws: WebSocket[] = [];
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.disconnect());
    raws.splice(0).forEach((r) => r.terminate());
    await Promise.all(apps.splice(0).map(stopAppServer));
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  });

  async function start(
    pingTimeout = PING_TIMEOUT,
  ): Promise<{ broker: BrokerHandle; disconnects: Promise<string> }> {
    const broker = await startTestBroker({ pingInterval: PING_INTERVAL, pingTimeout });
    brokers.push(broker);
    let onDisconnect: (reason: string) => void = () => {};
    const disconnects = new Promise<string>((resolve) => (onDisconnect = resolve));
    apps.push(
      await startAppServer(broker, (io) =>
        io.on("connection", (socket: ServerSocket) => socket.on("disconnect", onDisconnect)),
      ),
    );
    return { broker, disconnects };
  }

  const schedule = (broker: BrokerHandle) => broker.hub(HUB)!.heartbeats;

  /** Counts the pings the client's Engine.IO answers, until `count`. */
  function pings(client: ClientSocket, count: number): Promise<void> {
    return new Promise((resolve) => {
      let seen = 0;
      client.io.engine.on("ping", () => {
        if (++seen === count) resolve();
      });
    });
  }

  it("keeps a WebSocket client that answers connected across several intervals, and drops it when it leaves", async () => {
    const { broker } = await start(LIVE_PING_TIMEOUT);
    const client = connect(broker, "/", { transports: ["websocket"] });
    clients.push(client);
    await connected(client);
    expect(schedule(broker).size).toBe(1);
    let disconnected = false;
    client.on("disconnect", () => (disconnected = true));
    await pings(client, 5);
    expect(disconnected).toBe(false);
    expect(client.connected).toBe(true);
    client.disconnect();
    await until(() => schedule(broker).size === 0, "the closed session left the schedule");
  });

  it("moves a client that upgrades from polling to the schedule, and keeps it connected", async () => {
    const { broker } = await start(LIVE_PING_TIMEOUT);
    const client = connect(broker);
    clients.push(client);
    await connected(client);
    if (client.io.engine.transport.name !== "websocket") await once(client.io.engine, "upgrade");
    await until(() => schedule(broker).size === 1, "the upgraded session is in the schedule");
    let disconnected = false;
    client.on("disconnect", () => (disconnected = true));
    await pings(client, 5);
    expect(disconnected).toBe(false);
    client.disconnect();
    await until(() => schedule(broker).size === 0, "the closed session left the schedule");
  });

  it("leaves polling clients to engine.io's own heartbeat, which keeps them connected", async () => {
    const { broker } = await start(LIVE_PING_TIMEOUT);
    const client = connect(broker, "/", { transports: ["polling"] });
    clients.push(client);
    await connected(client);
    await pings(client, 3);
    expect(client.connected).toBe(true);
    expect(schedule(broker).size).toBe(0);
  });

  /** A raw WebSocket client that completes the handshake, connects to "/" and never answers a ping. */
  async function silentClient(
    broker: BrokerHandle,
    sid?: string,
  ): Promise<{ ws: WebSocket; pings: number[] }> {
    const query = sid ? `&sid=${encodeURIComponent(sid)}` : "";
    const ws = new WebSocket(
      `${broker.url.replace("http", "ws")}${clientPath(HUB)}/?EIO=4&transport=websocket${query}`,
    );
    raws.push(ws);
    const received: number[] = [];
    ws.on("message", (data) => {
      if (data.toString() === "2") received.push(performance.now());
    });
    await once(ws, "open");
    if (sid) {
      // The upgrade: probe, then "upgrade" (engine.io-protocol).
      ws.send("2probe");
      const [probe] = await once<[Buffer]>(ws, "message");
      expect(probe.toString()).toBe("3probe");
      ws.send("5");
    }
    return { ws, pings: received };
  }

  it("reads pongs alone in a read or sharing it with a message, and passes every message on in order", async () => {
    const broker = await startTestBroker({ pingInterval: PING_INTERVAL, pingTimeout: LIVE_PING_TIMEOUT });
    brokers.push(broker);
    const received: string[] = [];
    let onFourth: () => void = () => {};
    const fourth = new Promise<void>((resolve) => (onFourth = resolve));
    apps.push(
      await startAppServer(broker, (io) =>
        io.on("connection", (socket: ServerSocket) =>
          socket.on("after", (n: string) => {
            received.push(n);
            if (received.length === 4) onFourth();
          }),
        ),
      ),
    );
    const { ws, pings: seen } = await silentClient(broker);
    ws.send("40");
    // Pings 1 and 3 answered alone, 2 and 4 with a message sent at once after the pong (one read
    // for both, most of the time); the session outlives them all.
    ws.on("message", (data) => {
      if (data.toString() !== "2") return;
      ws.send("3");
      const message = `42["after","${seen.length}"]`;
      if (seen.length % 2 === 0) ws.send(message);
      else setImmediate(() => ws.send(message));
    });
    await fourth;
    expect(received).toEqual(["1", "2", "3", "4"]);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(schedule(broker).size).toBe(1);
  });

  it("closes a WebSocket client that does not answer with 'ping timeout', pingTimeout after the ping", async () => {
    const { broker, disconnects } = await start();
    const { ws, pings: received } = await silentClient(broker);
    ws.send("40");
    await once(ws, "close", 10_000);
    const closedAt = performance.now();
    expect(await disconnects).toBe("ping timeout");
    expect(received).toHaveLength(1);
    // Not at the ping but pingTimeout after it (this process may see the ping late: half of it as a margin).
    expect(closedAt - received[0]!).toBeGreaterThanOrEqual(PING_TIMEOUT / 2);
    await until(() => schedule(broker).size === 0, "the timed out session left the schedule");
  });

  it("extends the wait for the pong once when another packet comes meanwhile, as engine.io does", async () => {
    const timeout = 1000;
    const broker = await startTestBroker({ pingInterval: PING_INTERVAL, pingTimeout: timeout });
    brokers.push(broker);
    const reasons: string[] = [];
    apps.push(
      await startAppServer(broker, (io) =>
        io.on("connection", (socket: ServerSocket) =>
          socket.on("disconnect", (reason: string) => reasons.push(reason)),
        ),
      ),
    );
    // The first packet must reach the node well before the pong's deadline: an attempt where this
    // process was held up past that point (a loaded machine) shows nothing, and is made again with a
    // new client. Only a timely attempt is checked.
    for (let attempt = 1; ; attempt++) {
      const { ws, pings: received } = await silentClient(broker);
      ws.send("40");
      await until(() => received.length === 1, "the first ping");
      // Two packets while the pong is awaited: the first extends the wait to pingTimeout from then,
      // the second does not.
      await new Promise((resolve) => setTimeout(resolve, timeout / 2));
      const extendedAt = performance.now();
      ws.send('42["hello"]');
      const timely = extendedAt - received[0]! <= timeout * 0.8;
      await new Promise((resolve) => setTimeout(resolve, timeout / 2));
      ws.send('42["again"]');
      await once(ws, "close", 10_000);
      const closedAt = performance.now();
      await until(() => reasons.length === attempt, "the app server saw the disconnect");
      expect(reasons[attempt - 1]).toBe("ping timeout");
      if (timely) {
        expect(closedAt - extendedAt).toBeGreaterThanOrEqual(timeout - 5);
        return;
      }
      if (attempt === 5) throw new Error("5 attempts in a row were held up past the pong's deadline");
    }
  });

  it("closes a client upgraded from polling that stops answering with 'ping timeout'", async () => {
    const { broker, disconnects } = await start();
    const base = `${broker.url}${clientPath(HUB)}/?EIO=4&transport=polling`;
    const handshake = await (await fetch(base)).text();
    const { sid } = JSON.parse(handshake.slice(1)) as { sid: string };
    const post = await fetch(`${base}&sid=${encodeURIComponent(sid)}`, { method: "POST", body: "40" });
    expect(await post.text()).toBe("ok");
    // The poll the upgrade ends (engine.io answers it with a noop).
    const poll = fetch(`${base}&sid=${encodeURIComponent(sid)}`).then((r) => r.text());
    const { ws, pings: received } = await silentClient(broker, sid);
    await poll;
    await until(() => schedule(broker).size === 1, "the upgraded session is in the schedule");
    await once(ws, "close", 10_000);
    expect(await disconnects).toBe("ping timeout");
    expect(received.length).toBeGreaterThanOrEqual(1);
    await until(() => schedule(broker).size === 0, "the timed out session left the schedule");
  });
});
