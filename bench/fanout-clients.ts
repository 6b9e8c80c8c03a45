/**
 * Child process of bench/fanout.ts: many WebSocket clients that speak just enough Engine.IO v4 and
 * Socket.IO v5 to join the main namespace and count the events they receive. A full socket.io-client
 * costs the benchmark process far more per message than the servers it measures, and 10,000 of them
 * would not fit one process's descriptors; this one holds a share of the audience, connecting from a
 * source address of its own (127.0.0.x) so that no address runs out of ports.
 *
 * Driven over IPC (see ClientCommand / ClientReport): connect; then, for each burst, wait until the
 * clients of this process have received `events` events in all since they connected (a running
 * total, so that a command arriving after the burst's first events loses none of them); then close.
 */
import { WebSocket } from "ws";

export type ClientCommand =
  | { type: "connect"; url: string; count: number; localAddress: string }
  | { type: "expect"; events: number }
  | { type: "close" };

export type ClientReport = { type: "connected" } | { type: "reached" } | { type: "failed"; error: string };

// Engine.IO packet types are the first byte: "0" open, "2" ping, "4" message; Socket.IO's are the
// second byte of a message: "0" connect, "2" event.
const OPEN = 0x30;
const PING = 0x32;
const MESSAGE = 0x34;
const CONNECT = 0x30;
const EVENT = 0x32;
/** Connections opened at once: more would only queue in the server's accept backlog. */
const CONNECTING_AT_ONCE = 100;

const sockets: WebSocket[] = [];
let received = 0;
let expected = Infinity;

const report = (message: ClientReport) => process.send!(message);

function onFrame(socket: WebSocket, data: Buffer): void {
  if (data[0] === MESSAGE && data[1] === EVENT) {
    if (++received === expected) report({ type: "reached" });
  } else if (data[0] === PING) socket.send("3");
  else if (data[0] === OPEN) socket.send("40");
}

/** One client: resolves once the server accepted it into the main namespace ("40{sid}"). */
function connectOne(url: string, localAddress: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { localAddress, perMessageDeflate: false });
    socket.on("message", (data: Buffer) => {
      if (data[0] === MESSAGE && data[1] === CONNECT) resolve();
      onFrame(socket, data);
    });
    socket.once("error", reject);
    sockets.push(socket);
  });
}

async function connect(url: string, count: number, localAddress: string): Promise<void> {
  for (let opened = 0; opened < count; opened += CONNECTING_AT_ONCE) {
    const batch = Math.min(CONNECTING_AT_ONCE, count - opened);
    await Promise.all(Array.from({ length: batch }, () => connectOne(url, localAddress)));
  }
}

process.on("message", (command: ClientCommand) => {
  if (command.type === "connect") {
    connect(command.url, command.count, command.localAddress).then(
      () => report({ type: "connected" }),
      (error: unknown) => report({ type: "failed", error: String(error) }),
    );
  } else if (command.type === "expect") {
    expected = command.events;
    if (received >= expected) report({ type: "reached" });
  } else {
    for (const socket of sockets) socket.terminate();
    process.exit(0);
  }
});
