/**
 * The fan-out ceiling of bench/fanout.ts: what Node does with a bare `ws` server when a tick's
 * frames are built once, concatenated once, and written to each socket with one write. It answers
 * the Engine.IO open and Socket.IO connect handshakes, no more (no pings: the bench is shorter
 * than a ping interval's worth of their cost), so the same clients count its events.
 */
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import * as ws from "ws";

// ws's frame builder is untyped (broker/src/internals/ws.ts uses it the same way).
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };
const textFrame = (text: string) =>
  Sender.frame(Buffer.from(text), { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true });

export interface RawWsServer {
  url: string;
  path: string;
  /** `count` events `[event, payload]` to every client, in one write per client. */
  broadcast(event: string, payload: string, count: number): void;
}

export async function startRawWsServer(): Promise<RawWsServer> {
  const path = "/raw";
  const http = createServer();
  const server = new ws.WebSocketServer({ server: http, path: `${path}/`, perMessageDeflate: false });
  const sockets = new Set<Socket>();
  server.on("connection", (client: ws.WebSocket) => {
    const socket = (client as unknown as { _socket: Socket })._socket;
    client.send("0" + JSON.stringify({ sid: "raw", upgrades: [], pingInterval: 25000, pingTimeout: 20000 }));
    client.on("message", (data: Buffer) => {
      if (data.toString() === "40") {
        client.send('40{"sid":"raw"}');
        sockets.add(socket);
      }
    });
    client.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    path,
    broadcast(event, payload, count) {
      const frames: Buffer[] = [];
      for (let i = 0; i < count; i++) frames.push(...textFrame(`42${JSON.stringify([event, payload])}`));
      const tick = Buffer.concat(frames);
      for (const socket of sockets) socket.write(tick);
    },
  };
}
