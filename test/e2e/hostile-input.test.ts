import { createServer, get } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Server } from "socket.io";
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import type { BrokerHandle } from "@regio/broker";
import { ErrorCode, RegioError, useRegio } from "@regio/sdk";
import {
  clientPath,
  decodeMessage,
  encodeMessage,
  formatConnectionString,
  MessageType,
  SessionId,
  SocketId,
  StreamId,
  signLinkToken,
  type Message,
} from "@regio/protocol";
import {
  ACCESS_KEY,
  connect,
  HUB,
  startAppServer,
  startTestBroker,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { collect, connected, once, until } from "../support/events.ts";
import { rawLink } from "../support/raw-link.ts";

/** `{ a: { a: { ... } } }`, `depth` levels deep. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

function thrown(action: () => unknown): RegioError {
  try {
    action();
  } catch (error) {
    if (error instanceof RegioError) return error;
    throw error;
  }
  throw new Error("nothing was thrown");
}

describe("hostile input never costs uptime or data", () => {
  let broker: BrokerHandle;
  let apps: AppServer[];
  const clients: ClientSocket[] = [];

  beforeAll(async () => {
    broker = await startTestBroker();
    const setup = (io: Server) =>
      io.on("connection", (socket) =>
        socket.on("echo", (value: unknown, ack: (v: unknown) => void) => ack(value)),
      );
    apps = [await startAppServer(broker, setup), await startAppServer(broker, setup)];
  });
  afterAll(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    for (const app of apps) await stopAppServer(app);
    await broker.close();
  });

  /** A new client is served end to end, both ways, and a broadcast reaches it. */
  async function bystanderServed(): Promise<void> {
    const bystander = await connected(connect(broker, "/", { transports: ["websocket"] }));
    try {
      expect(await bystander.timeout(5000).emitWithAck("echo", "still here")).toBe("still here");
      const news = once<[string]>(bystander, "news");
      apps[0]!.io.emit("news", "hello");
      expect((await news)[0]).toBe("hello");
    } finally {
      bystander.disconnect();
    }
  }

  /** The app server holding a client's socket, and the other one (which sees it as a snapshot). */
  function owners(id: string): { owner: AppServer; other: AppServer } {
    const owner = apps.find((app) => app.io.of("/").sockets.has(id))!;
    return { owner, other: apps.find((app) => app !== owner)! };
  }

  it("keeps serving when a client's auth is nested 120 levels deep, and leaves it out of the view", async () => {
    const hostile = await connected(connect(broker, "/", { auth: nested(120), transports: ["websocket"] }));
    clients.push(hostile);
    const { other } = owners(hostile.id!);
    const seen = (await other.io.fetchSockets()).find((socket) => socket.id === hostile.id);
    expect(seen).toBeDefined();
    expect(seen!.handshake.auth).toEqual({});
    await bystanderServed();
  });

  it("answers every fetchSockets while a socket with a 95-level auth exists", async () => {
    const hostile = await connected(connect(broker, "/", { auth: nested(95), transports: ["websocket"] }));
    clients.push(hostile);
    for (const app of apps) {
      const ids = (await app.io.timeout(3000).fetchSockets()).map((socket) => socket.id);
      expect(ids).toContain(hostile.id);
    }
    await bystanderServed();
  });

  it("keeps socket.data that is too deep out of the view, and the socket in it", async () => {
    const client = await connected(connect(broker, "/", { transports: ["websocket"] }));
    clients.push(client);
    const { owner, other } = owners(client.id!);
    const socket = owner.io.of("/").sockets.get(client.id!)!;
    socket.data = nested(150);
    socket.join("deep");
    await until(
      async () => (await other.io.in("deep").fetchSockets()).some((s) => s.id === client.id),
      "the other app server sees the socket in its room",
    );
    const seen = (await other.io.in("deep").fetchSockets()).find((s) => s.id === client.id)!;
    expect(seen.data).toBeUndefined();
  });

  it("refuses an operation larger than a node accepts at the emit, with PAYLOAD_TOO_LARGE", async () => {
    const big = "x".repeat(1_100_000);
    expect(thrown(() => apps[0]!.io.emit("big", big)).code).toBe(ErrorCode.PayloadTooLarge);
    expect(thrown(() => apps[0]!.io.local.emit("big", big)).code).toBe(ErrorCode.PayloadTooLarge);
    expect(thrown(() => apps[0]!.io.to("room").emit("big", big)).code).toBe(ErrorCode.PayloadTooLarge);
    await bystanderServed();
  });

  it("refuses an oversize operation from an app link with an Error for its seq, and serves the rest", async () => {
    const link = await rawLink(broker, signLinkToken(ACCESS_KEY, { hub: HUB, sub: "big-sender" }));
    try {
      await link.next(MessageType.Hello);
      const listener = await connected(connect(broker, "/", { transports: ["websocket"] }));
      clients.push(listener);
      const got = collect<number>(listener, "n", 2);
      const broadcast = (seq: number, body: string): Message => ({
        type: MessageType.Broadcast,
        seq,
        target: { nsp: "/", rooms: [], except: [] },
        packet: [`2["n",${body}]`],
        flags: 0,
      });
      link.ws.send(encodeMessage(broadcast(1, "1")));
      link.ws.send(encodeMessage(broadcast(2, JSON.stringify("x".repeat(1_100_000)))));
      expect(await link.next(MessageType.Error)).toMatchObject({
        code: ErrorCode.PayloadTooLarge,
        retriable: false,
        seq: 2,
      });
      link.ws.send(encodeMessage(broadcast(3, "3")));
      expect(await got).toEqual([1, 3]);
    } finally {
      link.ws.close();
    }
  });

  it("refuses a sequence number out of range, acknowledges nothing it did not execute, and goes on", async () => {
    const link = await rawLink(broker, signLinkToken(ACCESS_KEY, { hub: HUB, sub: "seq-prober" }));
    try {
      await link.next(MessageType.Hello);
      const listener = await connected(connect(broker, "/", { transports: ["websocket"] }));
      clients.push(listener);
      const got = collect<number>(listener, "s", 2);
      const send = (seq: number) =>
        link.ws.send(
          encodeMessage({
            type: MessageType.Broadcast,
            seq,
            target: { nsp: "/", rooms: [], except: [] },
            packet: [`2["s",${seq}]`],
            flags: 0,
          }),
        );
      send(2 ** 53 - 1);
      expect(await link.next(MessageType.Error)).toMatchObject({
        code: ErrorCode.BadSequence,
        seq: 2 ** 53 - 1,
      });
      send(3);
      send(4);
      expect(await got).toEqual([3, 4]);
      expect(await link.next(MessageType.OpAck)).toEqual({ type: MessageType.OpAck, seq: 3 });
      expect(await link.next(MessageType.OpAck)).toEqual({ type: MessageType.OpAck, seq: 4 });
    } finally {
      link.ws.close();
    }
  });

  it("keeps waiting for broadcast acks when the timeout is beyond 2^31 ms", async () => {
    const link = await rawLink(broker, signLinkToken(ACCESS_KEY, { hub: HUB, sub: "patient" }));
    try {
      await link.next(MessageType.Hello);
      const listener = await connected(connect(broker, "/", { transports: ["websocket"] }));
      clients.push(listener);
      listener.on("ask", (reply: (answer: string) => void) => setTimeout(() => reply("yes"), 50));
      const ackId = 2 ** 48 + 5;
      link.ws.send(
        encodeMessage({
          type: MessageType.BroadcastWithAck,
          seq: 0,
          requestId: 1,
          target: { nsp: "/", rooms: [listener.id!], except: [] },
          packet: [`2${ackId}["ask"]`],
          ackId,
          flags: 0,
          timeoutMs: 2 ** 40,
        }),
      );
      expect(await link.next(MessageType.BroadcastAckCount)).toMatchObject({ clientCount: 1 });
      expect(await link.next(MessageType.BroadcastAck)).toMatchObject({ packet: [`3${ackId}["yes"]`] });
    } finally {
      link.ws.close();
    }
  });

  it("drops a client's acknowledgement of a broadcast that socket.io cannot decode, and keeps the others", async () => {
    const raw = new WebSocket(
      `${broker.url.replace("http", "ws")}${clientPath(HUB)}/?EIO=4&transport=websocket`,
    );
    const frames: string[] = [];
    raw.on("message", (data: Buffer) => frames.push(data.toString()));
    const frame = (pattern: RegExp) =>
      until(() => frames.some((f) => pattern.test(f)), `a frame matching ${pattern}`).then(() =>
        frames.find((f) => pattern.test(f))!,
      );
    try {
      await once(raw, "open");
      raw.send("40");
      const sid = (JSON.parse((await frame(/^40\{/)).slice(2)) as { sid: string }).sid;
      const honest = await connected(connect(broker, "/", { transports: ["websocket"] }));
      clients.push(honest);
      honest.on("question", (ack: (answer: string) => void) => ack("fine"));
      for (const id of [sid, honest.id!]) owners(id).owner.io.of("/").sockets.get(id)!.join("acks");
      await until(
        async () => (await apps[0]!.io.in("acks").fetchSockets()).length === 2,
        "both sockets are in the room, as the node sees it",
      );
      const answers = new Promise<unknown[]>((resolve) =>
        apps[0]!.io
          .to("acks")
          .timeout(1000)
          .emit("question", (_error: Error | null, responses: unknown[]) => resolve(responses)),
      );
      // The raw client answers with an ACK whose payload is not an array: only its header is valid.
      const ackId = /^42(\d+)\["question"\]$/.exec(await frame(/^42\d+\["question"\]$/))![1]!;
      raw.send(`43${ackId}{}`);
      expect(await answers).toEqual(["fine"]);
      await bystanderServed();
    } finally {
      raw.close();
    }
  });

  it("closes a client that sends an Engine.IO message without data, as socket.io does", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    const raw = new WebSocket(
      `${broker.url.replace("http", "ws")}${clientPath(HUB)}/?EIO=4&transport=websocket`,
    );
    try {
      const frames: string[] = [];
      raw.on("message", (data: Buffer) => frames.push(data.toString()));
      await once(raw, "open");
      raw.send("40");
      await until(() => frames.some((f) => f.startsWith("40{")), "the client is connected");
      const closed = once(raw, "close");
      raw.send("4"); // a "message" packet with no payload: no Socket.IO packet at all
      await closed;
      await bystanderServed();
      // It never reached an app server as a frame it could not read.
      expect(warnings.filter((w) => w.includes("data is missing"))).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      raw.terminate();
    }
  });

  it('refuses at the emit a serverSideEmit of a client\'s object with a "__proto__" key, and delivers the next', async () => {
    const hostile = JSON.parse('{"name":"x","__proto__":{"admin":true}}') as unknown;
    expect(thrown(() => apps[0]!.io.serverSideEmit("relay", hostile)).code).toBe(ErrorCode.BadFrame);
    const relayed = once<[unknown]>(apps[1]!.io.of("/"), "relay");
    apps[0]!.io.serverSideEmit("relay", { name: "y" });
    expect((await relayed)[0]).toEqual({ name: "y" });
  });

  it("rejects at once a serverSideEmitWithAck of a value that cannot be carried", async () => {
    const started = Date.now();
    await expect(apps[0]!.io.serverSideEmitWithAck("deep", nested(150))).rejects.toMatchObject({
      code: ErrorCode.BadFrame,
    });
    expect(Date.now() - started).toBeLessThan(1000); // not the request's timeout (5 s)
  });

  it("creates no hub for client requests naming unknown hubs, whatever their sid", async () => {
    const names = Array.from({ length: 5000 }, (_, i) => `ghost${i}`);
    for (let i = 0; i < names.length; i += 100) {
      await Promise.all(
        names.slice(i, i + 100).map(async (name) => {
          const response = await fetch(`${broker.url}${clientPath(name)}/?EIO=4&transport=polling&sid=x${i}`);
          expect(response.status).toBe(400);
          await response.arrayBuffer();
        }),
      );
    }
    expect(names.filter((name) => broker.hub(name) !== undefined)).toEqual([]);
    await bystanderServed();
  });

  it("serves one hub per path: nothing may follow the hub name", async () => {
    // node:http sends the path as given (fetch would resolve the dots first).
    const status = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const { hostname, port } = new URL(broker.url);
        get({ host: hostname, port, path: `${path}?EIO=4&transport=polling` }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on("error", reject);
      });
    for (const path of [`${clientPath(HUB)}/../other/`, `${clientPath(HUB)}/x/`, `${clientPath(HUB)}//`]) {
      expect(await status(path), path).toBe(404);
    }
  });

  it("refuses app-link tokens that claim more than an hour of validity", async () => {
    const token = signLinkToken(ACCESS_KEY, { hub: HUB, sub: "forever", ttlSeconds: 86_400 });
    const { status, body } = await rawLink(broker, token);
    expect(status).toBe(401);
    expect(body.code).toBe(ErrorCode.TokenInvalid);
    expect(body.message).toMatch(/lifetime/);
  });

  it("bounds the operations an app server holds for a node that stopped answering: BUFFER_FULL, nothing lost", async () => {
    const io = new Server();
    const regio = useRegio(io, {
      hub: HUB,
      connectionString: formatConnectionString(broker.url, ACCESS_KEY),
      outbox: { maxBytes: 20_000 },
    });
    await regio.ready;
    const listener = await connected(connect(broker, "/", { transports: ["websocket"] }));
    clients.push(listener);
    // Hold back every acknowledgement of this app server: the broker's link to it stops reading.
    const link = [...broker.hub(HUB)!.links.values()].find((l) => l.appServerId === regio.appServerId)!;
    const paused = link as unknown as { ws: WebSocket };
    const raw = (paused.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    let accepted = 0;
    let refusal: RegioError | undefined;
    while (!refusal) {
      try {
        io.emit("load", accepted, "y".repeat(500));
        accepted++;
      } catch (error) {
        refusal = error as RegioError;
      }
    }
    expect(refusal.code).toBe(ErrorCode.BufferFull);
    expect(refusal.retriable).toBe(true);
    expect(accepted).toBeGreaterThan(10);
    const got = collect<number>(listener, "load", accepted);
    raw.resume();
    expect(await got).toEqual([...Array(accepted).keys()]);
    await regio.close();
    await io.close();
  });
});

describe("an app link that names another app server's socket", () => {
  it("cannot put it in rooms through a session of its own, nor take it out of the view", async () => {
    const broker = await startTestBroker();
    const app = await startAppServer(broker);
    const link = await rawLink(broker, signLinkToken(ACCESS_KEY, { hub: HUB, sub: "hijacker" }));
    try {
      const victim = await connected(connect(broker, "/", { transports: ["websocket"] }));
      await link.next(MessageType.Hello);
      link.ws.send(encodeMessage({ type: MessageType.Ready, stream: StreamId("hijacker/1") }));
      // The next session goes to the link with the fewest sessions: the hijacker's.
      const links = () => [...broker.hub(HUB)!.links.values()];
      await until(() => links().length === 2 && links().every((l) => l.isServing), "the hijacker serves");
      const own = new WebSocket(
        `${broker.url.replace("http", "ws")}${clientPath(HUB)}/?EIO=4&transport=websocket`,
      );
      own.on("error", () => {});
      const { sessionId } = (await link.next(MessageType.SessionOpen)) as { sessionId: SessionId };
      link.ws.send(
        encodeMessage({
          type: MessageType.Join,
          sessionId,
          nsp: "/",
          sid: SocketId(victim.id!),
          rooms: ["stolen"],
        }),
      );
      // Its session ends: the sockets it joined leave the view with it; the victim's must not.
      link.ws.send(encodeMessage({ type: MessageType.SessionClose, sessionId }));
      await until(() => broker.hub(HUB)!.sessions.size === 1, "the hijacker's session is closed");
      expect((await app.io.fetchSockets()).map((socket) => socket.id)).toEqual([victim.id]);
      // Nor is the victim in the room the hijacker chose: a broadcast to it does not reach the
      // victim, which gets the one after it (the node delivers one app server's operations in order).
      const got: string[] = [];
      victim.onAny((event: string) => got.push(event));
      const news = once<[string]>(victim, "news");
      app.io.to("stolen").emit("leak", "not for the victim");
      app.io.emit("news", "still reachable");
      expect((await news)[0]).toBe("still reachable");
      expect(got).toEqual(["news"]);
      victim.disconnect();
      own.terminate();
    } finally {
      link.ws.close();
      await stopAppServer(app);
      await broker.close();
    }
  });
});

describe("app links that are not ready, and browsers from other origins", () => {
  let broker: BrokerHandle;

  beforeAll(async () => {
    broker = await startTestBroker({ cors: { origin: ["http://allowed.example"] } });
  });
  afterAll(async () => {
    await broker.close();
  });

  it("hands no client session to an app link until it says Ready", async () => {
    const link = await rawLink(broker, signLinkToken(ACCESS_KEY, { hub: HUB, sub: "silent" }));
    try {
      await link.next(MessageType.Hello);
      const early = await fetch(`${broker.url}${clientPath(HUB)}/?EIO=4&transport=polling`);
      expect(early.status).toBe(503);
      expect(((await early.json()) as { code: string }).code).toBe(ErrorCode.NoAppServer);
      link.ws.send(encodeMessage({ type: MessageType.Ready, stream: StreamId("silent/1") }));
      await until(async () => {
        const response = await fetch(`${broker.url}${clientPath(HUB)}/?EIO=4&transport=polling`);
        await response.arrayBuffer();
        return response.ok;
      }, "the link serves once ready");
      expect(await link.next(MessageType.SessionOpen)).toMatchObject({ type: MessageType.SessionOpen });
    } finally {
      link.ws.close();
    }
  });

  it("refuses a WebSocket from an origin outside --cors-origin, and accepts allowed or absent origins", async () => {
    const app = await startAppServer(broker);
    try {
      const url = `${broker.url.replace("http", "ws")}${clientPath(HUB)}/?EIO=4&transport=websocket`;
      const attempt = (headers: Record<string, string>) =>
        new Promise<number>((resolve) => {
          const ws = new WebSocket(url, { headers });
          ws.on("open", () => {
            ws.close();
            resolve(101);
          });
          ws.on("unexpected-response", (_req, res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
        });
      expect(await attempt({ origin: "http://evil.example" })).toBe(403);
      expect(await attempt({ origin: "http://allowed.example" })).toBe(101);
      expect(await attempt({})).toBe(101);
      const refused = await fetch(`${broker.url}${clientPath("nobody")}/?EIO=4&transport=polling`, {
        headers: { origin: "http://allowed.example" },
      });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("access-control-allow-origin")).toBe("http://allowed.example");
    } finally {
      await stopAppServer(app);
    }
  });
});

describe("an app handler that throws", () => {
  it("reports a server-side emit listener that throws to onError (HANDLER_FAILED), and keeps serving", async () => {
    const broker = await startTestBroker();
    const listening = await startAppServer(broker, (io) => {
      io.on("ping-all", () => {
        throw new Error("the app's own bug");
      });
      io.on("connection", (socket) => socket.on("echo", (v: unknown, ack: (v: unknown) => void) => ack(v)));
    });
    const sender = await startAppServer(broker);
    const errors: RegioError[] = [];
    listening.regio.onError((error) => errors.push(error));
    try {
      sender.io.serverSideEmit("ping-all");
      await until(() => errors.some((e) => e.code === ErrorCode.HandlerFailed), "the failure is reported");
      expect(errors.find((e) => e.code === ErrorCode.HandlerFailed)!.message).toMatch(/the app's own bug/);
      await stopAppServer(sender);
      const client = await connected(connect(broker, "/", { transports: ["websocket"] }));
      expect(await client.timeout(5000).emitWithAck("echo", 2)).toBe(2);
      client.disconnect();
    } finally {
      await stopAppServer(listening);
      await broker.close();
    }
  });
});

describe("an app whose Server is attached to its own HTTP server", () => {
  it("refuses clients that connect to the app directly, and keeps serving through the broker", async () => {
    const broker = await startTestBroker();
    const httpServer = createServer();
    const io = new Server(httpServer);
    io.on("connection", (socket) => socket.on("echo", (v: unknown, ack: (v: unknown) => void) => ack(v)));
    const regio = useRegio(io, {
      hub: HUB,
      connectionString: formatConnectionString(broker.url, ACCESS_KEY),
    });
    await regio.ready;
    await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    const port = (httpServer.address() as AddressInfo).port;
    try {
      const response = await fetch(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`);
      expect(response.status).toBe(403);
      expect(((await response.json()) as { message: string }).message).toMatch(/served through Regio/);
      for (const transports of [["polling"], ["websocket"]]) {
        const direct = connectClient(`http://127.0.0.1:${port}`, {
          reconnection: false,
          transports,
          forceNew: true,
        });
        await once(direct, "connect_error");
        direct.disconnect();
      }
      expect(io.of("/").sockets.size).toBe(0);
      const client = await connected(connect(broker, "/", { transports: ["websocket"] }));
      expect(await client.timeout(5000).emitWithAck("echo", 7)).toBe(7);
      client.disconnect();
    } finally {
      await io.close();
      await regio.close();
      await broker.close();
    }
  });
});

describe("an app server that reads too slowly", () => {
  it("slows its clients down instead of buffering without bound, and loses nothing", async () => {
    const cap = 512 * 1024;
    const broker = await startTestBroker({ maxLinkBufferedBytes: cap });
    const link = await rawLink(broker, signLinkToken(ACCESS_KEY, { hub: HUB, sub: "slow-app" }));
    let flood: WebSocket | undefined;
    try {
      await link.next(MessageType.Hello);
      link.ws.send(encodeMessage({ type: MessageType.Ready, stream: StreamId("slow-app/1") }));
      await until(() => broker.hub(HUB)?.hasAppServers === true, "the slow app server serves");
      // Its client: a bare Engine.IO WebSocket (opened once the app server serves, or it is refused).
      flood = new WebSocket(
        `${broker.url.replace("http", "ws")}${clientPath(HUB)}/?EIO=4&transport=websocket`,
      );
      await once(flood, "open");
      await link.next(MessageType.SessionOpen);
      // The app server stops reading its link; its client sends 16 MiB.
      const linkSocket = (link.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      linkSocket.pause();
      const brokerSide = [...broker.hub(HUB)!.links.values()][0] as unknown as { ws: WebSocket };
      let mostBuffered = 0;
      const watch = setInterval(
        () => (mostBuffered = Math.max(mostBuffered, brokerSide.ws.bufferedAmount)),
        5,
      );
      const body = "x".repeat(16 * 1024);
      const count = 1024;
      for (let i = 0; i < count; i++) flood.send(`4${String(i).padStart(6, "0")}${body}`);
      // Nothing comes through while the app server does not read; once it reads again, everything does.
      const received: string[] = [];
      const done = new Promise<void>((resolve) => {
        link.ws.on("message", (frame: Buffer) => {
          const message = decodeMessage(frame);
          if (message.type !== MessageType.SessionMessage || typeof message.data !== "string") return;
          received.push(message.data.slice(0, 6));
          if (received.length === count) resolve();
        });
      });
      await until(() => mostBuffered > cap / 8, "the node's buffer toward the app server filled up");
      linkSocket.resume();
      await done;
      clearInterval(watch);
      expect(received).toEqual(Array.from({ length: count }, (_, i) => String(i).padStart(6, "0")));
      expect(mostBuffered).toBeLessThanOrEqual(cap);
      expect(link.ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      flood?.close();
      link.ws.close();
      await broker.close();
    }
  });
});
