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

/** What a session's handshake request said, as the node passes it on (see ClientSession#handshake). */
export interface RequestHandshake {
  url: string;
  headers: Record<string, string | string[]>;
  /** Whether it came over TLS. */
  secure: boolean;
  /** The query engine.io parsed from the URL (`_query`, declared private in its types). */
  query: Readonly<Record<string, unknown>>;
}

const NO_QUERY: Readonly<Record<string, unknown>> = Object.freeze({});

/** The handshake request engine.io keeps as `socket.request`, read (it allocates: not for hot paths). */
export function requestHandshake(socket: EngineSocket): RequestHandshake {
  const request = socket.request as typeof socket.request & { _query?: Record<string, unknown> };
  return {
    url: request.url ?? "/",
    headers: request.headers as Record<string, string | string[]>,
    secure: (request.socket as { encrypted?: boolean } | undefined)?.encrypted === true,
    query: request._query ?? NO_QUERY,
  };
}

/** Shared by every released request: nothing reads it after the session opened. */
const RELEASED: string[] = Object.freeze([]) as unknown as string[];

/**
 * engine.io keeps a session's handshake request for the session's life (`socket.request`). Node
 * builds `request.headers` from `request.rawHeaders` on first read and keeps both: the raw lines
 * (the header names a second time, and an array of them all) cost about 0.7 KB per client with a
 * browser's headers. Nothing on the node reads them after the handshake (engine.io reads the
 * request only while it handles it; the node reads `headers`; middlewares run on the app server,
 * on what the node sent it), so the headers are built now and the raw lines dropped. Idempotent.
 */
export function releaseRawHeaders(socket: EngineSocket): void {
  const request = socket.request as
    { headers?: unknown; rawHeaders: string[]; rawTrailers: string[] } | undefined;
  if (!request || request.rawHeaders === RELEASED) return;
  void request.headers;
  request.rawHeaders = RELEASED;
  request.rawTrailers = RELEASED;
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

/** ws's WebSocket and Sender internals that a direct write must find idle. */
interface WsInternals {
  readyState: number;
  _sender?: { _state?: number; _queue?: unknown[] } | null;
  _socket?: Socket;
}
/** ws: WebSocket.OPEN, and Sender's DEFAULT state (not compressing, not reading a Blob). */
const WS_OPEN = 1;
const SENDER_IDLE = 0;

/**
 * Writes pre-built WebSocket frames straight to the client's TCP socket, when nothing written
 * through engine.io or ws still waits to go before them: engine.io's buffer empty and its transport
 * not busy with a write, ws's sender idle with nothing queued, the WebSocket open. The bytes are then
 * those engine.io would write (WebSocket#send of a pre-encoded frame: ws Sender#sendFrame, one
 * socket.write), without its per-packet bookkeeping. False when it cannot: write through engine.io.
 * What is written so is not in engine.io's buffer: count the TCP socket's `writableLength` to bound
 * what a client owes.
 */
export function writeFramesDirectly(socket: EngineSocket, frames: Buffer): boolean {
  const engine = socket as unknown as { writeBuffer: unknown[] };
  const transport = socket.transport as unknown as { name: string; writable: boolean; socket?: WsInternals };
  const ws = transport.socket;
  const sender = ws?._sender;
  const raw = ws?._socket;
  if (
    transport.name !== "websocket" ||
    !transport.writable ||
    engine.writeBuffer.length > 0 ||
    ws?.readyState !== WS_OPEN ||
    sender?._state !== SENDER_IDLE ||
    (sender._queue?.length ?? 0) > 0 ||
    !raw
  ) {
    return false;
  }
  raw.write(frames);
  return true;
}
