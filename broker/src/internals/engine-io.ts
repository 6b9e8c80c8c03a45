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
  readonly url: string;
  readonly headers: Record<string, string | string[]>;
  /** Whether it came over TLS. */
  readonly secure: boolean;
  /** The query engine.io parsed from the URL (`_query`, declared private in its types). */
  readonly query: Readonly<Record<string, unknown>>;
}

/** What a session keeps of its handshake request once it is open (see releaseHandshakeRequest). */
class KeptRequest implements RequestHandshake {
  constructor(
    readonly url: string,
    readonly headers: Record<string, string | string[]>,
    readonly secure: boolean,
    readonly query: Readonly<Record<string, unknown>>,
  ) {}
}

const NO_QUERY: Readonly<Record<string, unknown>> = Object.freeze({});

/** The handshake request of a session, as engine.io gave it or as the session kept it. */
export function requestHandshake(socket: EngineSocket): RequestHandshake {
  const request: unknown = socket.request;
  if (request instanceof KeptRequest) return request;
  const incoming = request as typeof socket.request & { _query?: Record<string, unknown> };
  return new KeptRequest(
    incoming.url ?? "/",
    incoming.headers as Record<string, string | string[]>,
    (incoming.socket as { encrypted?: boolean } | undefined)?.encrypted === true,
    incoming._query ?? NO_QUERY,
  );
}

/**
 * engine.io keeps a session's handshake request for the session's life (`socket.request`, an
 * IncomingMessage with its raw header lines, streams state and socket), and, for a WebSocket
 * session, the `res` it made for middlewares (WebSocketResponse: it listens for the TCP socket's
 * "close" to emit its own, and holds the request). About 1.5 KB per client with a browser's headers.
 * Once the session is open nothing on the node reads them but the session itself: engine.io reads
 * the request only while it handles it (Socket's constructor caches `remoteAddress`), and middlewares
 * (the only listeners of `res`) run on the app server, on what the node sent it. So the session
 * keeps what its handshake said in one small object (the same headers object, URL and query), which
 * replaces `socket.request`, and the response's listener goes (found by its source: engine.io 6.6's
 * `socket.once("close", () => this.emit("close"))` in WebSocketResponse's constructor; if engine.io
 * changes, nothing is released but the request). Also gone: engine.io's "error" listener for the
 * time before a WebSocket joins a session (onUpgradeError, a debug log; the transport's own listener
 * handles errors from then on). Idempotent; again after an upgrade to WebSocket, for its response.
 */
export function releaseHandshakeRequest(socket: EngineSocket): void {
  if (!(socket.request instanceof KeptRequest))
    (socket as unknown as { request: unknown }).request = requestHandshake(socket);
  const ws = (socket.transport as unknown as { socket?: WebSocketListeners }).socket;
  const upgradeError = ws?.listeners?.("error").find((listener) => listener.name === "onUpgradeError");
  if (upgradeError) ws!.removeListener("error", upgradeError);
  const raw = rawSocketOf(socket);
  if (!raw) return;
  for (const wrapper of raw.rawListeners("close")) {
    const listener = (wrapper as { listener?: (...args: unknown[]) => void }).listener;
    if (listener && String(listener) === WEBSOCKET_RESPONSE_CLOSE) raw.removeListener("close", listener);
  }
}

interface WebSocketListeners {
  listeners?(event: string): Array<(...args: unknown[]) => void>;
  removeListener(event: string, listener: (...args: unknown[]) => void): void;
}

/** engine.io/build/server.js, WebSocketResponse's constructor: its TCP socket's "close" listener. */
const WEBSOCKET_RESPONSE_CLOSE = '() => this.emit("close")';

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
