/**
 * Child process of bench/connections.ts: idle WebSocket clients that speak just enough Engine.IO v4
 * and Socket.IO v5 to join the main namespace and answer pings, each sending a browser's headers,
 * from a source address of this process's own (127.0.0.x) so that no address runs out of ports.
 * Driven over IPC: `connect` (answered `connected` with how many got in), then `close`.
 */
import { WebSocket } from "ws";

export type IdleClientCommand =
  | { type: "connect"; url: string; count: number; localAddress: string; headers: Record<string, string> }
  | { type: "close" };

export type IdleClientReport = { type: "connected"; connected: number; failed: number; firstError?: string };

// Engine.IO packet types are the first byte: "0" open, "2" ping, "4" message; Socket.IO's are the
// second byte of a message: "0" connect.
const OPEN = 0x30;
const PING = 0x32;
const MESSAGE = 0x34;
const CONNECT = 0x30;
/** Connections opened at once: more would only queue in the server's accept backlog. */
const CONNECTING_AT_ONCE = 100;

const sockets: WebSocket[] = [];

/** One client: resolves true once the server accepted it into the main namespace, false if it could not. */
function connectOne(
  url: string,
  localAddress: string,
  headers: Record<string, string>,
): Promise<string | true> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { localAddress, perMessageDeflate: false, headers });
    socket.on("message", (data: Buffer) => {
      if (data[0] === PING) socket.send("3");
      else if (data[0] === OPEN) socket.send("40");
      else if (data[0] === MESSAGE && data[1] === CONNECT) resolve(true);
    });
    socket.once("error", (error) => resolve(String(error)));
    socket.once("close", () => resolve("closed before it connected"));
    sockets.push(socket);
  });
}

async function connect(command: Extract<IdleClientCommand, { type: "connect" }>): Promise<IdleClientReport> {
  let connected = 0;
  let failed = 0;
  let firstError: string | undefined;
  for (let opened = 0; opened < command.count; opened += CONNECTING_AT_ONCE) {
    const batch = Math.min(CONNECTING_AT_ONCE, command.count - opened);
    const results = await Promise.all(
      Array.from({ length: batch }, () => connectOne(command.url, command.localAddress, command.headers)),
    );
    for (const result of results) {
      if (result === true) connected++;
      else {
        failed++;
        firstError ??= result;
      }
    }
  }
  return { type: "connected", connected, failed, firstError };
}

process.on("message", (command: IdleClientCommand) => {
  if (command.type === "connect") void connect(command).then((report) => process.send!(report));
  else {
    for (const socket of sockets) socket.terminate();
    process.exit(0);
  }
});
