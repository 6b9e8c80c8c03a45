import { createServer, IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Socket as EngineSocket } from "engine.io";
import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  rawSocketOf,
  readPongsDirectly,
  releaseHandshakeRequest,
  requestHandshake,
  takeOverHeartbeat,
} from "../src/internals/engine-io.ts";

/**
 * releaseHandshakeRequest reaches into engine.io: this notices when an engine.io upgrade changes
 * what it relies on (then a session would keep its request and response again: memory, not behaviour).
 */
describe("releaseHandshakeRequest on the installed engine.io", () => {
  it("keeps what the handshake said and lets go of the request, its response and the pre-session error listener", async () => {
    const http = createServer();
    const engine = new Server();
    engine.attach(http);
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const { port } = http.address() as AddressInfo;
    try {
      const opened = new Promise<EngineSocket>((resolve) => engine.once("connection", resolve));
      const client = new WebSocket(`ws://127.0.0.1:${port}/engine.io/?EIO=4&transport=websocket&x=1`, {
        headers: { cookie: "a=b" },
      });
      const [socket] = await Promise.all([opened, new Promise((resolve) => client.once("open", resolve))]);
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
    } finally {
      engine.close();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});

/**
 * readPongsDirectly reaches into engine.io, ws and Node's net.Socket: this notices when an upgrade
 * changes what it relies on (then pongs would go through ws again: CPU, not behaviour), and checks
 * that pongs and messages reach engine.io as before, in order, alone in a read or not.
 */
describe("readPongsDirectly on the installed engine.io, ws and Node", () => {
  it("takes lone pongs before the TCP socket's Readable and passes everything else on in order", async () => {
    const http = createServer();
    const engine = new Server();
    engine.attach(http);
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const { port } = http.address() as AddressInfo;
    try {
      const opened = new Promise<EngineSocket>((resolve) => engine.once("connection", resolve));
      const client = new WebSocket(`ws://127.0.0.1:${port}/engine.io/?EIO=4&transport=websocket`);
      const [socket] = await Promise.all([opened, new Promise((resolve) => client.once("open", resolve))]);
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
    } finally {
      engine.close();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});

/** A client's text frame of a short `text` (under 126 bytes), masked as clients must. */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = payload.map((byte, i) => byte ^ mask[i % 4]!);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}
