/**
 * The parts of `ws` that Regio uses beyond its typed API, in one place: upgrading ws means
 * re-checking this file.
 */
import * as ws from "ws";
import type { Socket } from "node:net";
import type { WebSocket } from "ws";

// ws exposes its frame builder on Sender; it is untyped, hence the narrow local type.
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };

/** A complete unmasked text frame, built once and written as is to any number of clients. */
export function textFrame(payload: Buffer): Buffer[] {
  return Sender.frame(payload, { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true });
}

/** The TCP socket under a WebSocket (ws keeps it as `_socket`), for flow control. */
export function rawSocketOf(webSocket: WebSocket): Socket | undefined {
  const raw = (webSocket as unknown as { _socket?: Socket })._socket;
  return raw && typeof raw.pause === "function" ? raw : undefined;
}
