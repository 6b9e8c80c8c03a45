/**
 * The parts of `ws` that Regio uses beyond its typed API, in one place: upgrading ws means
 * re-checking this file.
 */
import type { Socket } from "node:net";
import type { WebSocket } from "ws";

/** The TCP socket under a WebSocket (ws keeps it as `_socket`), for flow control. */
export function rawSocketOf(webSocket: WebSocket): Socket | undefined {
  const raw = (webSocket as unknown as { _socket?: Socket })._socket;
  return raw && typeof raw.pause === "function" ? raw : undefined;
}
