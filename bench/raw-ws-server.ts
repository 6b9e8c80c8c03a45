/**
 * The fan-out ceiling of bench/fanout.ts: what Node does with a bare `ws` server when a tick's
 * frames are built once, concatenated once, and written to each socket with one write. It answers
 * the Engine.IO open and Socket.IO connect handshakes, no more (no pings: the bench is shorter
 * than a ping interval's worth of their cost), so the same clients count its events. Given a ping
 * interval (bench/ping-cost.ts), it also pings each client that long after its connect or last
 * pong, on one timer with 250 ms slots as the broker's schedule, a pre-built frame written to the
 * TCP socket, pongs read through ws: the floor under the broker's heartbeat.
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

const PING_FRAME = Buffer.from([0x81, 0x01, 0x32]);
const SLOT_MS = 250;

/** Pings each socket pingIntervalMs after it was added or last answered (see the file's comment). */
function pingSchedule(pingIntervalMs: number) {
  const slots = new Map<number, Set<Socket>>();
  const slotOf = new Map<Socket, number>();
  let next = Math.floor(performance.now() / SLOT_MS);
  const place = (socket: Socket) => {
    slots.get(slotOf.get(socket)!)?.delete(socket);
    const slot = Math.max(Math.ceil((performance.now() + pingIntervalMs) / SLOT_MS), next);
    let due = slots.get(slot);
    if (!due) slots.set(slot, (due = new Set()));
    due.add(socket);
    slotOf.set(socket, slot);
  };
  setInterval(() => {
    for (const current = Math.floor(performance.now() / SLOT_MS); next <= current; next++) {
      const due = slots.get(next);
      slots.delete(next);
      for (const socket of due ?? []) {
        slotOf.set(socket, -1);
        socket.write(PING_FRAME);
      }
    }
  }, SLOT_MS).unref();
  return {
    place,
    drop(socket: Socket) {
      slots.get(slotOf.get(socket)!)?.delete(socket);
      slotOf.delete(socket);
    },
  };
}

export async function startRawWsServer(pingIntervalMs?: number): Promise<RawWsServer> {
  const path = "/raw";
  const pings = pingIntervalMs ? pingSchedule(pingIntervalMs) : undefined;
  const http = createServer();
  const server = new ws.WebSocketServer({ server: http, path: `${path}/`, perMessageDeflate: false });
  const sockets = new Set<Socket>();
  server.on("connection", (client: ws.WebSocket) => {
    const socket = (client as unknown as { _socket: Socket })._socket;
    client.send("0" + JSON.stringify({ sid: "raw", upgrades: [], pingInterval: 25000, pingTimeout: 20000 }));
    client.on("message", (data: Buffer) => {
      if (data.length === 1 && data[0] === 0x33) pings?.place(socket);
      else if (data.toString() === "40") {
        client.send('40{"sid":"raw"}');
        sockets.add(socket);
        pings?.place(socket);
      }
    });
    client.once("close", () => {
      sockets.delete(socket);
      pings?.drop(socket);
    });
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
