/**
 * The parts of `engine.io` that Regio uses beyond its typed API, in one place: upgrading engine.io
 * means re-checking this file.
 */
import type { Socket } from "node:net";
import type { Socket as EngineSocket } from "engine.io";
import { SessionId } from "@regio/protocol";
import { hookReads } from "./node-net.ts";

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

/** engine.io's heartbeat state on its Socket (see schedulePing, resetPingTimeout, onPacket in engine.io/build/socket.js). */
interface EngineHeartbeat {
  pingIntervalTimer: NodeJS.Timeout | null;
  pingTimeoutTimer: NodeJS.Timeout | null;
  sendPacket(type: "ping"): void;
  onClose(reason: string): void;
}

/**
 * Stops engine.io's own heartbeat for a session (protocol 4): its timer for the next ping, and
 * the ping timeout if one runs. Its pong handling then only emits "packet" and "heartbeat"
 * (clearTimeout(null), `pingIntervalTimer?.refresh()` on null), and a packet received while a pong
 * is awaited extends nothing (`pingTimeoutTimer !== null` is false): the caller does both from then on.
 */
export function takeOverHeartbeat(socket: EngineSocket): void {
  const engine = socket as unknown as EngineHeartbeat;
  clearTimeout(engine.pingIntervalTimer ?? undefined);
  clearTimeout(engine.pingTimeoutTimer ?? undefined);
  engine.pingIntervalTimer = null;
  engine.pingTimeoutTimer = null;
}

/** engine.io's ping packet ("2") in a WebSocket frame: FIN + text opcode, unmasked, 1 byte of payload. */
const PING_FRAME = Buffer.from([0x81, 0x01, 0x32]);

/**
 * Pings a session whose heartbeat was taken over: straight to the TCP socket when nothing waits
 * before it (see writeFramesDirectly), else through engine.io's buffer, in its order, as engine.io
 * itself pings (`sendPacket("ping")`, which does nothing once the session is closing).
 */
export function sendPing(socket: EngineSocket): void {
  if (!writeFramesDirectly(socket, PING_FRAME)) (socket as unknown as EngineHeartbeat).sendPacket("ping");
}

/** Closes a session as engine.io's own ping timeout does (reason "ping timeout"). */
export function closeForPingTimeout(socket: EngineSocket): void {
  if (socket.readyState !== "closed") (socket as unknown as EngineHeartbeat).onClose("ping timeout");
}

/** ws's Receiver (engine.io's nested ws 8), between frames when all of these say so. */
interface ReceiverInternals {
  write(chunk: Buffer, ...rest: unknown[]): boolean;
  _state: number;
  _bufferedBytes: number;
  _fragmented: number;
  _opcode: number;
  _errored: boolean;
  writableLength: number;
  writableEnded: boolean;
  destroyed: boolean;
}
/** ws Receiver: GET_INFO, the state between frames; 0x08, a close frame's opcode. */
const RECEIVER_BETWEEN_FRAMES = 0;
const CLOSE_OPCODE = 0x08;
/** The engine.io transport a receiver reads for, on receivers whose pongs are read directly. */
const pongTransport = Symbol("regio.pongTransport");
type PongReceiver = ReceiverInternals & {
  [pongTransport]: { onData(data: string): void; socket: WsInternals & { _receiver?: ReceiverInternals } };
};

/** A client's pong frame: 2 bytes of header, a 4-byte mask, 1 byte of payload. */
const LONE_PONG_BYTES = 7;
/**
 * A client's pong as it comes, alone in a TCP read of `length` bytes (the first `length` of
 * `chunk`): the frame of engine.io's "3" (FIN + text opcode, masked, 1 byte of payload), its 4-byte
 * mask, and "3" masked with the mask's first byte.
 */
function isLonePong(chunk: Buffer, length: number): boolean {
  return (
    length === LONE_PONG_BYTES && chunk[0] === 0x81 && chunk[1] === 0x81 && (chunk[6]! ^ chunk[2]!) === 0x33
  );
}

/** Whether a pong read now may skip ws's Receiver: it is between frames, with nothing buffered or queued. */
function receiverBetweenFrames(receiver: ReceiverInternals | undefined, ws: WsInternals): boolean {
  return (
    receiver !== undefined &&
    receiver._state === RECEIVER_BETWEEN_FRAMES &&
    receiver._bufferedBytes === 0 &&
    receiver._fragmented === 0 &&
    receiver._opcode !== CLOSE_OPCODE &&
    !receiver._errored &&
    receiver.writableLength === 0 &&
    !receiver.writableEnded &&
    !receiver.destroyed &&
    ws.readyState === WS_OPEN
  );
}

function writeReadingPongsDirectly(this: PongReceiver, chunk: Buffer, ...rest: unknown[]): boolean {
  const transport = this[pongTransport];
  if (isLonePong(chunk, chunk.length) && receiverBetweenFrames(this, transport.socket)) {
    // What ws and engine.io's WebSocket transport would do with it, without the stream machinery:
    // ws emits the text message "3", the transport decodes it (engine.io's Transport#onData).
    transport.onData("3");
    return true;
  }
  return Object.getPrototypeOf(this).write.call(this, chunk, ...rest) as boolean;
}

/** The engine.io transport whose pongs a TCP socket's read hook takes (see readPongsDirectly). */
type PongSocket = Socket & { [pongTransport]?: PongReceiver[typeof pongTransport] };

/**
 * A TCP read (node-net's hook, before the socket's Readable) that is a lone pong, at a point where
 * nothing read earlier still waits (the Readable empty and flowing, ws's Receiver between frames):
 * handed to the transport as ws would hand it. Anything else goes on through the Readable and ws.
 * The socket's "data" listeners do not see it: on the node that is ws's alone (socketOnData, which
 * hands the read to the Receiver, as writeReadingPongsDirectly does).
 */
function readPongAtSocket(socket: Socket, buffer: Buffer, length: number): boolean {
  const transport = (socket as PongSocket)[pongTransport];
  if (
    !isLonePong(buffer, length) ||
    transport === undefined ||
    socket.readableLength > 0 ||
    socket.readableFlowing !== true ||
    !receiverBetweenFrames(transport.socket._receiver, transport.socket)
  ) {
    return false;
  }
  transport.onData("3");
  return true;
}

/**
 * Reads a WebSocket session's pongs (the client's answer to each ping) without ws's Receiver
 * stream when a TCP read holds a pong frame and nothing else, at a frame boundary: engine.io gets
 * the same packet ("pong") through the same path from its transport on. Anything else (other
 * frames, a pong sharing a read, a receiver mid-frame, closing or errored) goes through ws as before.
 * Where Node allows (see node-net's hookReads), the read is taken before the TCP socket's Readable
 * too, into a buffer shared by all sockets instead of an allocation per read; else at ws's Receiver.
 */
export function readPongsDirectly(socket: EngineSocket): void {
  const transport = socket.transport as unknown as {
    name: string;
    onData(data: string): void;
    socket?: WsInternals & { _receiver?: ReceiverInternals };
  };
  const receiver = transport.socket?._receiver;
  if (transport.name !== "websocket" || typeof receiver?.write !== "function") return;
  (receiver as PongReceiver)[pongTransport] = transport as PongReceiver[typeof pongTransport];
  receiver.write = writeReadingPongsDirectly;
  const raw = transport.socket?._socket as PongSocket | undefined;
  if (raw && hookReads(raw, readPongAtSocket))
    raw[pongTransport] = transport as PongReceiver[typeof pongTransport];
}
