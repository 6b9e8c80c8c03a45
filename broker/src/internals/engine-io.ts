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
  [pongTransport]: { onData(data: string): void; socket: WsInternals };
};

/**
 * A client's pong as it comes, alone in a TCP read: the frame of engine.io's "3" (FIN + text
 * opcode, masked, 1 byte of payload), its 4-byte mask, and "3" masked with the mask's first byte.
 */
function isLonePong(chunk: Buffer): boolean {
  return chunk.length === 7 && chunk[0] === 0x81 && chunk[1] === 0x81 && (chunk[6]! ^ chunk[2]!) === 0x33;
}

function writeReadingPongsDirectly(this: PongReceiver, chunk: Buffer, ...rest: unknown[]): boolean {
  const transport = this[pongTransport];
  if (
    isLonePong(chunk) &&
    this._state === RECEIVER_BETWEEN_FRAMES &&
    this._bufferedBytes === 0 &&
    this._fragmented === 0 &&
    this._opcode !== CLOSE_OPCODE &&
    !this._errored &&
    this.writableLength === 0 &&
    !this.writableEnded &&
    !this.destroyed &&
    transport.socket.readyState === WS_OPEN
  ) {
    // What ws and engine.io's WebSocket transport would do with it, without the stream machinery:
    // ws emits the text message "3", the transport decodes it (engine.io's Transport#onData).
    transport.onData("3");
    return true;
  }
  return Object.getPrototypeOf(this).write.call(this, chunk, ...rest) as boolean;
}

/**
 * Reads a WebSocket session's pongs (the client's answer to each ping) without ws's Receiver
 * stream when a TCP read holds a pong frame and nothing else, at a frame boundary: engine.io gets
 * the same packet ("pong") through the same path from its transport on. Anything else (other
 * frames, a pong sharing a read, a receiver mid-frame, closing or errored) goes through ws as before.
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
}
