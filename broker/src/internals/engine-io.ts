/**
 * The parts of `engine.io` that Regio uses beyond its typed API, in one place: upgrading engine.io
 * means re-checking this file.
 */
import type { Socket } from "node:net";
import type { Socket as EngineSocket } from "engine.io";
import { SessionId } from "@regio/protocol";

/** The session id engine.io hands to the client (declared private in its types). */
export function sessionIdOf(socket: EngineSocket): SessionId {
  return SessionId((socket as unknown as { id: string }).id);
}

/** The TCP socket under a session's WebSocket transport (none for polling), for corking and flow control. */
export function rawSocketOf(socket: EngineSocket): Socket | undefined {
  const raw = (socket.transport as unknown as { socket?: { _socket?: Socket } }).socket?._socket;
  return raw && typeof raw.cork === "function" ? raw : undefined;
}

/**
 * Whether a write with `wsPreEncodedFrame` reaches the client as that frame: engine.io's WebSocket
 * transport writes it as is unless permessage-deflate is on (then it encodes the packet's data,
 * see WebSocket#_canSendPreEncodedFrame in engine.io/build/transports/websocket.js). Polling never
 * does. A transport that does stays so: a session only ever upgrades to WebSocket, never back.
 */
export function takesPreEncodedFrames(socket: EngineSocket): boolean {
  const transport = socket.transport as unknown as {
    name: string;
    perMessageDeflate?: unknown;
    socket?: { _sender?: { sendFrame?: unknown } };
  };
  return (
    transport.name === "websocket" &&
    !transport.perMessageDeflate &&
    typeof transport.socket?._sender?.sendFrame === "function"
  );
}
