/**
 * The parts of `ws` that the SDK uses beyond its typed API, in one place: upgrading ws means
 * re-checking this file.
 */
import type { Socket } from "node:net";
import type { WebSocket } from "ws";

/** The TCP socket under a WebSocket (ws keeps it as `_socket`), to cork it for a tick. */
export function rawSocketOf(webSocket: WebSocket): Socket | undefined {
  const raw = (webSocket as unknown as { _socket?: Socket })._socket;
  return raw && typeof raw.cork === "function" ? raw : undefined;
}
