import { createServer, IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Socket as EngineSocket } from "engine.io";
import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  rawSocketOf,
  readPongsDirectly,
  releaseHandshakeRequest,
  releaseReadBuffers,
  requestHandshake,
  takeOverHeartbeat,
  trimOpenSession,
} from "../src/internals/engine-io.ts";

/**
 * An engine.io server on 127.0.0.1 and one raw WebSocket client connected to it (`query` after
 * `?EIO=4&transport=websocket`): `test` gets the server's Socket, the client and the server; the
 * server is closed after, whatever happens.
 */
async function withSession(
  test: (socket: EngineSocket, client: WebSocket, engine: Server) => Promise<void>,
  options: { query?: string; headers?: Record<string, string> } = {},
): Promise<void> {
  const http = createServer();
  const engine = new Server();
  engine.attach(http);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  try {
    const opened = new Promise<EngineSocket>((resolve) => engine.once("connection", resolve));
    const url = `ws://127.0.0.1:${port}/engine.io/?EIO=4&transport=websocket${options.query ?? ""}`;
    const client = new WebSocket(url, { headers: options.headers });
    // Tests that break the connection on purpose assert on the server's side.
    client.on("error", () => {});
    const [socket] = await Promise.all([opened, new Promise((resolve) => client.once("open", resolve))]);
    await test(socket, client, engine);
  } finally {
    engine.close();
    await new Promise((resolve) => http.close(resolve));
  }
}

/**
 * releaseHandshakeRequest reaches into engine.io: this notices when an engine.io upgrade changes
 * what it relies on (then a session would keep its request and response again: memory, not behaviour).
 */
describe("releaseHandshakeRequest on the installed engine.io", () => {
  it("keeps what the handshake said and lets go of the request, its response and the pre-session error listener", async () => {
    await withSession(
      async (socket, client) => {
        expect(socket.request).toBeInstanceOf(IncomingMessage);
        const raw = rawSocketOf(socket)!;
        const closeListeners = raw.listenerCount("close");
        const ws = (socket.transport as unknown as { socket: WebSocket }).socket;
        expect(ws.listeners("error").map((listener) => listener.name)).toContain("onUpgradeError");

        releaseHandshakeRequest(socket);
        expect(socket.request).not.toBeInstanceOf(IncomingMessage);
        expect(raw.listenerCount("close")).toBe(closeListeners - 1);
        expect(ws.listeners("error").map((listener) => listener.name)).not.toContain("onUpgradeError");
        const kept = requestHandshake(socket);
        expect(kept.url).toBe("/engine.io/?EIO=4&transport=websocket&x=1");
        expect(kept.headers.cookie).toBe("a=b");
        expect(kept.query).toEqual({ EIO: "4", transport: "websocket", x: "1" });
        expect(kept.secure).toBe(false);
        // Idempotent.
        releaseHandshakeRequest(socket);
        expect(raw.listenerCount("close")).toBe(closeListeners - 1);
        client.close();
      },
      { query: "&x=1", headers: { cookie: "a=b" } },
    );
  });
});

/** What trimOpenSession changes, seen from outside engine.io (listener tables are Node's `_events`). */
interface Trimmed {
  _events: Record<string, unknown>;
  rawListeners(event: string): Array<{ listener?: unknown }>;
  listeners(event: string): unknown[];
  listenerCount(event: string): number;
}
const emitterOf = (value: unknown) => value as Trimmed;

/**
 * trimOpenSession reaches into engine.io and ws: this notices when an upgrade changes what it relies
 * on (then a session keeps more: memory, not behaviour), and checks that an open session trimmed so
 * still carries messages both ways and closes as before.
 */
describe("trimOpenSession on the installed engine.io and ws", () => {
  it("drops once wrappers, the WebSocket transport's headers listener and spare room, and the session works as before", async () => {
    await withSession(async (socket, client, engine) => {
      const back = new Promise<void>((resolve) =>
        client.on("message", (data) => {
          if (String(data) === "4back") resolve();
        }),
      );
      const transport = emitterOf(socket.transport);
      const ws = emitterOf((socket.transport as unknown as { socket: unknown }).socket);
      const onces = (emitter: Trimmed, event: string) =>
        emitter.rawListeners(event).filter((listener) => typeof listener.listener === "function").length;
      // What engine.io 6.6 and ws 8 put there, that the trim is about.
      expect(onces(emitterOf(socket), "close")).toBe(1);
      expect(onces(transport, "error") + onces(transport, "close") + onces(ws, "close")).toBe(3);
      expect(transport.listenerCount("headers")).toBe(1);

      // An event of several listeners, a `once` one first, that the trim copies as they are.
      const heard: string[] = [];
      const on = socket as unknown as {
        on(e: string, l: () => void): void;
        once(e: string, l: () => void): void;
      };
      on.once("custom", () => heard.push("once"));
      on.on("custom", () => heard.push("second"));
      on.on("custom", () => heard.push("third"));

      releaseHandshakeRequest(socket);
      trimOpenSession(socket);
      expect(onces(emitterOf(socket), "close")).toBe(0);
      // Each heard once, none skipped when the `once` one leaves during the emit (Node 22+ counts
      // the emits in progress on the listeners' array: a copy must keep that count).
      (socket as unknown as { emit(e: string): void }).emit("custom");
      (socket as unknown as { emit(e: string): void }).emit("custom");
      expect(heard).toEqual(["once", "second", "third", "second", "third"]);
      expect(onces(transport, "error") + onces(transport, "close") + onces(ws, "close")).toBe(0);
      expect(transport.listenerCount("headers")).toBe(0);
      // The Socket's five listeners on its transport are the ones shared by all sessions, with one cleanup.
      const shared = ["error", "ready", "packet", "drain", "close"].map((event) =>
        transport.listeners(event),
      );
      expect(shared.map((listeners) => listeners.length)).toEqual([1, 1, 1, 1, 1]);
      expect(shared.flat().map((listener) => (listener as { name: string }).name)).toEqual([
        "sharedOnError",
        "sharedOnReady",
        "sharedOnPacket",
        "sharedOnDrain",
        "sharedOnClose",
      ]);
      expect((socket as unknown as { cleanupFn: unknown[] }).cleanupFn).toHaveLength(1);
      // So are the transport's on ws's WebSocket, and the server's on the Socket's "close".
      const names = (emitter: Trimmed, event: string) =>
        emitter.listeners(event).map((listener) => (listener as { name: string }).name);
      expect([...names(ws, "message"), ...names(ws, "error"), ...names(ws, "close")]).toEqual([
        "sharedWsMessage",
        "sharedWsError",
        "sharedWsClose",
      ]);
      expect(names(emitterOf(socket), "close")).toContain("forgetClient");
      // Its send callbacks are not there until it sends through engine.io (below).
      const callbacks = () =>
        ["_doSend", "_doSendLast", "_onSent", "_onSentLast"].map(
          (name) => typeof (transport as unknown as Record<string, unknown>)[name],
        );
      expect(callbacks()).toEqual(["undefined", "undefined", "undefined", "undefined"]);
      // In tables that inherit nothing (as EventEmitter's own), with the same events.
      for (const emitter of [emitterOf(socket), transport, ws]) {
        for (const inherited of ["toString", "constructor", "hasOwnProperty", "__proto__"])
          expect(inherited in emitter._events).toBe(false);
        expect((emitter as unknown as { eventNames(): unknown[] }).eventNames()).toEqual(
          Reflect.ownKeys(emitter._events),
        );
      }
      // Any event name works in them, "__proto__" too (an event like any other).
      const odd = () => {};
      (socket as unknown as { on(event: string, listener: () => void): void }).on("__proto__", odd);
      expect(emitterOf(socket).listeners("__proto__")).toEqual([odd]);
      (socket as unknown as { off(event: string, listener: () => void): void }).off("__proto__", odd);
      expect(emitterOf(socket).listenerCount("__proto__")).toBe(0);
      // Idempotent.
      trimOpenSession(socket);
      expect(engine.clientsCount).toBe(1);
      // The TCP socket's cached peer address is gone, and asked again it is the same.
      const raw = rawSocketOf(socket)! as unknown as { _peername?: unknown; remoteAddress?: string };
      expect(raw._peername).toBeUndefined();
      expect(raw.remoteAddress).toBe("127.0.0.1");
      expect(socket.remoteAddress).toBe("127.0.0.1");

      // Messages both ways, through ws's receiver after releaseReadBuffers.
      const received = new Promise((resolve) => socket.once("message", resolve));
      client.send("4hello");
      expect(await received).toBe("hello");
      releaseReadBuffers(socket);
      const receiver = (socket.transport as unknown as { socket: { _receiver: { _mask?: unknown } } }).socket
        ._receiver;
      expect(receiver._mask).toBeUndefined();
      const again = new Promise((resolve) => socket.once("message", resolve));
      client.send("4again");
      expect(await again).toBe("again");
      // Sent through engine.io: the callbacks are made, the write ends, the transport is writable again.
      const drained = new Promise((resolve) => socket.once("drain", resolve));
      socket.send("back");
      await back;
      await drained;
      expect(callbacks()).toEqual(["function", "function", "function", "function"]);
      expect(socket.transport.writable).toBe(true);

      // The client goes: the session closes once, as "transport close", and the server forgets it.
      const closes: string[] = [];
      const closed = new Promise((resolve) =>
        socket.on("close", (reason: string) => resolve(closes.push(reason))),
      );
      client.close();
      await closed;
      expect(closes).toEqual(["transport close"]);
      expect(engine.clientsCount).toBe(0);
    });
  });
});

describe("a trimmed session's transport error", () => {
  it('closes the session once, as engine.io does ("transport error"), and engine.io forgets it', async () => {
    await withSession(async (socket, client, engine) => {
      releaseHandshakeRequest(socket);
      trimOpenSession(socket);
      const closes: string[] = [];
      const closed = new Promise((resolve) =>
        socket.on("close", (reason: string) => resolve(closes.push(reason))),
      );
      // An unmasked frame from a client: ws's receiver fails ("MASK must be set"), the transport errors.
      (client as unknown as { _socket: { write(data: Buffer): void } })._socket.write(
        Buffer.from([0x81, 0x01, 0x34]),
      );
      await closed;
      expect(closes).toEqual(["transport error"]);
      expect(engine.clientsCount).toBe(0);
    });
  });
});

/**
 * readPongsDirectly reaches into engine.io, ws and Node's net.Socket: this notices when an upgrade
 * changes what it relies on (then pongs would go through ws again: CPU, not behaviour), and checks
 * that pongs and messages reach engine.io as before, in order, alone in a read or not.
 */
describe("readPongsDirectly on the installed engine.io, ws and Node", () => {
  it("takes lone pongs before the TCP socket's Readable and passes everything else on in order", async () => {
    await withSession(async (socket, client) => {
      takeOverHeartbeat(socket);
      readPongsDirectly(socket);
      const raw = rawSocketOf(socket)!;
      const readCallback = Object.getOwnPropertySymbols(raw).find(
        (symbol) => symbol.description === "kBufferCb",
      )!;
      expect(typeof (raw as unknown as Record<symbol, unknown>)[readCallback]).toBe("function");

      const seen: string[] = [];
      let onSeen = () => {};
      socket.on("packet", (packet: { type: string; data?: string }) => {
        seen.push(
          packet.type === "message"
            ? `message:${packet.data!.length}:${packet.data!.slice(0, 5)}`
            : packet.type,
        );
        onSeen();
      });
      const until = (count: number) =>
        new Promise<void>((resolve) => {
          onSeen = () => seen.length >= count && resolve();
          onSeen();
        });
      // A lone pong (one read), then a pong and a message in one write (most likely one read),
      // then a message larger than a read, then a lone pong again.
      client.send("3");
      await until(1);
      (client as unknown as { _socket: { write(data: Buffer): void } })._socket.write(
        Buffer.concat([maskedTextFrame("3"), maskedTextFrame("4hello")]),
      );
      await until(3);
      const large = "4" + "x".repeat(200_000);
      client.send(large);
      await until(4);
      client.send("3");
      await until(5);
      expect(seen).toEqual(["pong", "pong", "message:5:hello", `message:200000:xxxxx`, "pong"]);
      client.close();
    });
  });
});

/** A client's text frame of a short `text` (under 126 bytes), masked as clients must. */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = payload.map((byte, i) => byte ^ mask[i % 4]!);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}
