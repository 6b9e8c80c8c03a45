import { createServer, IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Socket as EngineSocket } from "engine.io";
import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { rawSocketOf, releaseHandshakeRequest, requestHandshake } from "../src/internals/engine-io.ts";

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
