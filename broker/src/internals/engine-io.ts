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
export function releaseHandshakeRequest(
  socket: EngineSocket,
  /** What the session keeps in place of each part (equal values: see shareRequestParts). */
  share: (request: RequestHandshake) => RequestHandshake = (request) => request,
): void {
  if (!(socket.request instanceof KeptRequest)) {
    const { url, headers, secure, query } = share(requestHandshake(socket));
    (socket as unknown as { request: unknown }).request = new KeptRequest(url, headers, secure, query);
  }
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

/** An EventEmitter's listener table (`_events`, Node's; documented only by its use in the wild). */
interface ListenerTable {
  _events?: Record<string | symbol, unknown>;
}

/** What Node's `once` puts in a listener table: `onceWrapper` bound to its state, with `.listener`. */
type OnceWrapper = ((...args: unknown[]) => unknown) & { listener: (...args: unknown[]) => unknown };

function isOnceWrapper(listener: unknown): listener is OnceWrapper {
  return (
    typeof listener === "function" &&
    // Node 20's once wrapper is a bound `onceWrapper`, Node 22 and 24's a closure named `wrapper`.
    (listener.name === "bound onceWrapper" || listener.name === "wrapper") &&
    typeof (listener as Partial<OnceWrapper>).listener === "function"
  );
}

/**
 * Puts a `once` listener of `event` in the table as the listener itself, in its place (the order
 * of listeners kept): for an event emitted once per emitter, or listeners that do nothing the
 * second time, it behaves the same, without the wrapper and its state (about 150 bytes each).
 * `removeListener` finds either (it compares `.listener` too); `listeners()` returned the listener already.
 */
function unwrapOnce(emitter: unknown, event: string): void {
  const events = (emitter as ListenerTable | undefined)?._events;
  const entry = events?.[event];
  if (isOnceWrapper(entry)) events![event] = entry.listener;
  else if (Array.isArray(entry))
    for (let i = 0; i < entry.length; i++) if (isOnceWrapper(entry[i])) entry[i] = entry[i].listener;
}

/**
 * Listener tables made by a constructor: V8 gives its objects room for their properties in the
 * object itself (an object literal has room for four; a fifth event would take an array more).
 * Its prototype is an empty object with no prototype: nothing is inherited, as from EventEmitter's
 * own `{ __proto__: null }` ("__proto__", "constructor", "toString" are events like any other).
 */
function CompactListenerTable(): void {}
CompactListenerTable.prototype = Object.create(null) as object;

/**
 * EventEmitter makes its listener table as `{ __proto__: null }`, which V8 keeps in dictionary mode:
 * 0.15-0.45 KB per table with a few events. The same keys and values in an object with fast
 * properties (its shape shared by all tables with the same events in the same order; see
 * CompactListenerTable) take a fraction of that. It stays fast while listeners are added; removing
 * an event's last listener deletes its key and makes it a dictionary again (memory, not
 * behaviour). Same keys, same order, same listeners (an event's several in a copy of their array
 * without spare room): EventEmitter reads `_events` afresh on each call, and an emit in progress
 * iterates its own copy of the listeners.
 */
function compactListenerTable(emitter: unknown): void {
  const table = emitter as ListenerTable | undefined;
  const events = table?._events;
  if (!events || typeof events !== "object") return;
  const prototype: unknown = Object.getPrototypeOf(events);
  if (prototype !== null && prototype !== CompactListenerTable.prototype) return;
  const compact = new (CompactListenerTable as unknown as new () => Record<string | symbol, unknown>)();
  for (const key of Reflect.ownKeys(events)) {
    const listeners = events[key];
    // An event's third listener grew its array to room for 19 (EventEmitter's `push`): as long as it is.
    compact[key] = Array.isArray(listeners) ? exactListeners(listeners) : listeners;
  }
  table!._events = compact;
}

/**
 * An event's listeners in an array without spare room, with the array's own symbol-keyed state:
 * Node 22 and later count on the array the emits iterating it (`kEmitting`), and a listener
 * removed meanwhile (a `once` one) makes them a new array rather than shift this one under the emit.
 * A copy without that count had the emit skip the listener after a `once` one (Node 24).
 */
function exactListeners(listeners: unknown[]): unknown[] {
  const copy = listeners.slice() as unknown[] & Record<symbol, unknown>;
  for (const key of Object.getOwnPropertySymbols(listeners))
    copy[key] = (listeners as unknown as Record<symbol, unknown>)[key];
  return copy;
}

/** ws's negotiated extensions, one object shared by a WebSocket, its Receiver and Sender (ws/lib/websocket.js). */
interface WsExtensions {
  _extensions?: object;
  _receiver?: { _extensions?: object };
  _sender?: { _extensions?: object };
}
const NO_EXTENSIONS = Object.freeze({});

/**
 * Without permessage-deflate a WebSocket's extensions are an empty object of its own, which ws
 * only reads after the upgrade (`this._extensions[name]`): one frozen empty object for all.
 */
function shareEmptyExtensions(ws: WsExtensions): void {
  const extensions = ws._extensions;
  if (!extensions || Reflect.ownKeys(extensions).length > 0) return;
  if (ws._receiver?._extensions !== extensions || ws._sender?._extensions !== extensions) return;
  ws._extensions = ws._receiver._extensions = ws._sender._extensions = NO_EXTENSIONS;
}

/** An array as long as it is, without the spare room `push` left it (an empty one: none at all). */
function exactArray<T>(array: T[] | undefined): T[] | undefined {
  return Array.isArray(array) ? array.slice() : array;
}

/** engine.io's per-connection state that trimOpenSession touches (engine.io/build/socket.js, transports/websocket.js). */
interface TrimmableSession {
  sentCallbackFn?: unknown[];
  cleanupFn?: unknown[];
  transport: { name: string; socket?: { _receiver?: ReceiverArrays } };
}
/** ws Receiver's arrays (ws/lib/receiver.js): chunks not consumed yet, fragments of a message. */
interface ReceiverArrays {
  _buffers?: unknown[];
  _fragments?: unknown[];
  _bufferedBytes?: number;
  _state?: number;
  _mask?: Buffer;
}

/**
 * Lets an open session keep less of what engine.io and ws made for it (about 1.2 KB per WebSocket
 * client), with the same behaviour:
 *
 * - `once` listeners of events emitted once, or whose listeners do nothing the second time, as
 *   plain listeners (see unwrapOnce): engine.io's server on the Socket's "close" (Socket#onClose
 *   emits it once), the Socket's on its transport's "error" and "close" (Socket#onError and
 *   #onClose, which do nothing once the Socket is closed), the WebSocket transport's on ws's
 *   "close" (ws emits it once: emitClose removes the receiver's listeners first, and the socket's
 *   "close" comes once);
 * - the Socket's listeners on its transport, the transport's on ws's WebSocket and the server's
 *   on the Socket's "close" shared by all sessions (see shareTransportListeners, shareWsListeners,
 *   shareServerCloseListener);
 * - engine.io's "headers" listener on a WebSocket transport: only polling emits "headers" (for
 *   each response; ws's upgrade response emits it on the server), a WebSocket transport never;
 * - the listener tables of the Socket, its transport and ws's WebSocket with fast properties
 *   (see compactListenerTable);
 * - engine.io's callback arrays without the spare room of their first `push`, ws's receiver's
 *   empty arrays without theirs (see releaseReadBuffers);
 * - ws's empty extensions as one object for all (see shareEmptyExtensions);
 * - the TCP socket's cached peer address object (see forgetPeerName).
 *
 * Call it once the session's listeners are in place (a listener added later keeps a table fast;
 * the last one of an event removed makes it a dictionary again), and again after an upgrade.
 */
export function trimOpenSession(socket: EngineSocket): void {
  const session = socket as unknown as TrimmableSession;
  const transport = session.transport;
  const ws = transport.socket;
  unwrapOnce(socket, "close");
  unwrapOnce(transport, "error");
  unwrapOnce(transport, "close");
  if (transport.name === "websocket") {
    (
      transport as unknown as WebSocketListeners & { removeAllListeners(event: string): void }
    ).removeAllListeners("headers");
    unwrapOnce(ws, "close");
    if (ws) shareEmptyExtensions(ws as WsExtensions);
    forgetPeerName(socket);
  }
  shareTransportListeners(socket);
  shareServerCloseListener(socket);
  shareWsListeners(transport as unknown as Parameters<typeof shareWsListeners>[0]);
  sendCallbacksOnDemand(transport as unknown as SendingTransport);
  compactListenerTable(socket);
  compactListenerTable(transport);
  compactListenerTable(ws);
  session.sentCallbackFn = exactArray(session.sentCallbackFn);
  session.cleanupFn = exactArray(session.cleanupFn);
  releaseReadBuffers(socket);
}

/**
 * ws's receiver keeps the array of chunks it has not consumed yet, with the room its first `push`
 * made (17 chunks) once it has consumed them all: an empty array instead, when it has none (and
 * the fragments' too; ws reads them as `this._buffers` and `this._fragments` each time), and no
 * mask of a frame already read. Between frames only. For a session that has read its first
 * messages (its namespace CONNECT), as trimOpenSession does at open.
 */
export function releaseReadBuffers(socket: EngineSocket): void {
  const transport = (socket as unknown as TrimmableSession).transport;
  const receiver = transport.name === "websocket" ? transport.socket?._receiver : undefined;
  if (receiver?._bufferedBytes !== 0 || receiver._state !== RECEIVER_BETWEEN_FRAMES) return;
  if (receiver._buffers?.length === 0) receiver._buffers = [];
  if (receiver._fragments?.length === 0) receiver._fragments = [];
  // The last frame's mask, a view of the chunk it came in (holding its whole ArrayBuffer): each
  // frame reads its own before its data (GET_MASK), none is read between frames.
  receiver._mask = undefined;
}

/** engine.io's Socket methods that its listeners on the transport call (engine.io/build/socket.js, setTransport). */
interface TransportOwner {
  onError(...args: unknown[]): void;
  flush(): void;
  onPacket(...args: unknown[]): void;
  onDrain(...args: unknown[]): void;
  onClose(reason: string, ...args: unknown[]): void;
  cleanupFn: Array<() => void>;
}
/** The Socket a transport's shared listeners act for. */
const ownerOfTransport = Symbol("regio.ownerOfTransport");
type OwnedTransport = ListenerTable & {
  [ownerOfTransport]?: TransportOwner;
  listeners(event: string): Array<(...args: unknown[]) => unknown>;
  removeListener(event: string, listener: (...args: unknown[]) => unknown): unknown;
};

// What setTransport binds per Socket, once for all (`this` is the transport, as EventEmitter calls them).
function sharedOnError(this: OwnedTransport, ...args: unknown[]): void {
  this[ownerOfTransport]!.onError(...args);
}
function sharedOnReady(this: OwnedTransport): void {
  this[ownerOfTransport]!.flush();
}
function sharedOnPacket(this: OwnedTransport, ...args: unknown[]): void {
  this[ownerOfTransport]!.onPacket(...args);
}
function sharedOnDrain(this: OwnedTransport, ...args: unknown[]): void {
  this[ownerOfTransport]!.onDrain(...args);
}
function sharedOnClose(this: OwnedTransport, ...args: unknown[]): void {
  this[ownerOfTransport]!.onClose("transport close", ...args);
}
function removeSharedListeners(transport: OwnedTransport): void {
  for (const [event, , shared] of TRANSPORT_LISTENERS) transport.removeListener(event, shared);
}

/**
 * engine.io's cleanup for a transport with the shared listeners. A closure made here holds the
 * transport alone (one made in shareTransportListeners would hold that function's whole scope);
 * not `bind`: a bound function whose target has a `name` of its own (as tsx/esbuild define it)
 * gets a name string and a dictionary of properties of its own (0.3 KB).
 */
function sharedListenersCleanup(transport: OwnedTransport): () => void {
  return () => removeSharedListeners(transport);
}

/** engine.io 6.6's Socket#setTransport: each listener it puts on its transport, by event and name, and the shared one for it. */
const TRANSPORT_LISTENERS: ReadonlyArray<
  readonly [string, string, (this: OwnedTransport, ...args: unknown[]) => void]
> = [
  ["error", "bound onError", sharedOnError],
  ["ready", "onReady", sharedOnReady],
  ["packet", "bound onPacket", sharedOnPacket],
  ["drain", "bound onDrain", sharedOnDrain],
  ["close", "bound onClose", sharedOnClose],
];

/** Puts `replacement` in the place of `listener` among `event`'s listeners (their order kept). */
function replaceListener(
  emitter: ListenerTable,
  event: string,
  listener: unknown,
  replacement: unknown,
): void {
  const events = emitter._events!;
  const entry = events[event];
  if (entry === listener) events[event] = replacement;
  else if (Array.isArray(entry)) entry[entry.indexOf(listener)] = replacement;
}

/**
 * engine.io's Socket#setTransport makes five functions per session for its transport's "error",
 * "ready", "packet", "drain" and "close" (four bound methods and an arrow), and a cleanup closure
 * holding them all: about 0.35 KB per client. The same calls from five functions shared by every
 * session (they find the Socket on the transport), and a cleanup that removes those, behave the
 * same: `socket.onError(...)`, `socket.flush()`, `socket.onPacket(...)`, `socket.onDrain(...)`,
 * `socket.onClose("transport close", ...)`. Only when the transport has exactly engine.io's five
 * (found by their names) and the Socket one cleanup: else nothing changes (memory, not behaviour).
 * After an upgrade, engine.io's cleanup of the old transport is this one, and the new transport
 * has engine.io's own listeners again, until trimOpenSession shares them too.
 */
function shareTransportListeners(socket: EngineSocket): void {
  const owner = socket as unknown as TransportOwner;
  const transport = socket.transport as unknown as OwnedTransport;
  if (!Array.isArray(owner.cleanupFn) || owner.cleanupFn.length !== 1 || !transport._events) return;
  if (transport[ownerOfTransport] === owner) return;
  const found = TRANSPORT_LISTENERS.map(([event, name]) =>
    transport.listeners(event).filter((listener) => listener.name === name),
  );
  if (found.some((listeners) => listeners.length !== 1)) return;
  // listeners() gives `once` listeners unwrapped: replace only what the table holds as is.
  const held = found.map(([listener], i) => {
    const entry = transport._events![TRANSPORT_LISTENERS[i]![0]];
    return entry === listener || (Array.isArray(entry) && entry.includes(listener));
  });
  if (held.includes(false)) return;
  transport[ownerOfTransport] = owner;
  TRANSPORT_LISTENERS.forEach(([event, , shared], i) =>
    replaceListener(transport, event, found[i]![0], shared),
  );
  owner.cleanupFn = [sharedListenersCleanup(transport)];
}

/** engine.io/build/server.js, Server#handshake: its listener on each Socket's "close" (`this` is the server). */
const SERVER_FORGETS_CLIENT =
  "() => {\n            delete this.clients[id];\n            this.clientsCount--;\n        }";

/** What SERVER_FORGETS_CLIENT does, for any Socket (`this`): its server's `clients[id]` is this Socket. */
function forgetClient(this: {
  id: string;
  server: { clients: Record<string, unknown>; clientsCount: number };
}): void {
  delete this.server.clients[this.id];
  this.server.clientsCount--;
}

/**
 * engine.io's server puts a closure on each Socket's "close" to forget it (about 0.1 KB with its
 * scope): the same from one function for all, when the closure is engine.io 6.6's (by its source)
 * and the server holds the Socket under its id (then `id` there is the Socket's `id`).
 */
function shareServerCloseListener(socket: EngineSocket): void {
  const owner = socket as unknown as ListenerTable & {
    id: string;
    server?: { clients?: Record<string, unknown> };
  };
  if (owner.server?.clients?.[owner.id] !== socket) return;
  const listener = socket.listeners("close").find((candidate) => String(candidate) === SERVER_FORGETS_CLIENT);
  if (listener && owner._events) replaceListener(owner, "close", listener, forgetClient);
}

/** engine.io/build/transports/websocket.js, WebSocket's constructor: its listener on ws's "message". */
const TRANSPORT_READS_MESSAGE =
  "(data, isBinary) => {\n            const message = isBinary ? data : data.toString();\n            debug('received \"%s\"', message);\n            super.onData(message);\n        }";
/** The engine.io transport a ws WebSocket carries, on WebSockets whose listeners are shared. */
const transportOfWs = Symbol("regio.transportOfWs");
interface WsTransport {
  onData(data: unknown): void;
  onError(...args: unknown[]): void;
  onClose(...args: unknown[]): void;
}
type TransportWs = ListenerTable & {
  [transportOfWs]?: WsTransport;
  listeners(event: string): Array<(...args: unknown[]) => unknown>;
};

// The WebSocket transport's listeners on its ws WebSocket, once for all (`this` is the WebSocket).
function sharedWsMessage(this: TransportWs, data: Buffer, isBinary: boolean): void {
  this[transportOfWs]!.onData(isBinary ? data : data.toString());
}
function sharedWsError(this: TransportWs, ...args: unknown[]): void {
  this[transportOfWs]!.onError(...args);
}
function sharedWsClose(this: TransportWs, ...args: unknown[]): void {
  this[transportOfWs]!.onClose(...args);
}

/**
 * engine.io's WebSocket transport puts three functions per session on its ws WebSocket: an arrow
 * for "message" (`super.onData(isBinary ? data : data.toString())`, after a debug log) and its
 * `onError` and `onClose` bound: about 0.15 KB. The same calls from functions shared by all (they
 * find the transport on the WebSocket), when the arrow is engine.io 6.6's (by its source), the
 * transport's `onData` is Transport's own (what `super.onData` calls), and the bound ones are
 * there once each (by name; after unwrapOnce). Else nothing changes. Gone: the "engine:ws" debug
 * log of each message received.
 */
function shareWsListeners(transport: WsTransport & { name: string; socket?: unknown }): void {
  const ws = transport.socket as TransportWs | undefined;
  if (transport.name !== "websocket" || !ws?._events || ws[transportOfWs]) return;
  const base = Object.getPrototypeOf(Object.getPrototypeOf(transport)) as { onData?: unknown } | null;
  if (base?.onData !== transport.onData) return;
  const message = ws.listeners("message").filter((listener) => String(listener) === TRANSPORT_READS_MESSAGE);
  const error = ws.listeners("error").filter((listener) => listener.name === "bound onError");
  const close = ws.listeners("close").filter((listener) => listener.name === "bound onClose");
  if (message.length !== 1 || error.length !== 1 || close.length !== 1) return;
  const held = (event: string, listener: unknown) => {
    const entry = ws._events![event];
    return entry === listener || (Array.isArray(entry) && entry.includes(listener));
  };
  if (!held("message", message[0]) || !held("error", error[0]) || !held("close", close[0])) return;
  ws[transportOfWs] = transport;
  replaceListener(ws, "message", message[0], sharedWsMessage);
  replaceListener(ws, "error", error[0], sharedWsError);
  replaceListener(ws, "close", close[0], sharedWsClose);
}

/** engine.io/build/transports/websocket.js, WebSocket's constructor: the four callbacks of its `send`. */
const SEND_CALLBACK_SOURCES = {
  _doSend: "(data) => {\n            this.socket.send(data, this._onSent);\n        }",
  _doSendLast: "(data) => {\n            this.socket.send(data, this._onSentLast);\n        }",
  _onSent:
    '(err) => {\n            if (err) {\n                this.onError("write error", err.stack);\n            }\n        }',
  _onSentLast:
    '(err) => {\n            if (err) {\n                this.onError("write error", err.stack);\n            }\n            else {\n                this.emit("drain");\n                this.writable = true;\n                this.emit("ready");\n            }\n        }',
} as const;
type SendCallbackName = keyof typeof SEND_CALLBACK_SOURCES;

/** engine.io's WebSocket transport as its `send` and the callbacks it passes on use it. */
type SendingTransport = { [name in SendCallbackName]: ((arg: unknown) => void) | undefined } & {
  name: string;
  socket: { send(data: unknown, callback: unknown): void };
  writable: boolean;
  onError(reason: string, description?: string): void;
  emit(event: string): void;
  send(packets: unknown[]): void;
};

/** The callbacks as engine.io's constructor makes them (same calls, same order). */
function makeSendCallbacks(transport: SendingTransport): void {
  transport._doSend = (data) => transport.socket.send(data, transport._onSent);
  transport._doSendLast = (data) => transport.socket.send(data, transport._onSentLast);
  transport._onSent = (err) => {
    if (err) transport.onError("write error", (err as Error).stack);
  };
  transport._onSentLast = (err) => {
    if (err) {
      transport.onError("write error", (err as Error).stack);
    } else {
      transport.emit("drain");
      transport.writable = true;
      transport.emit("ready");
    }
  };
}

/** engine.io's own `send`, once its callbacks are there again (they are, from the first send on). */
function sendMakingCallbacks(this: SendingTransport, packets: unknown[]): void {
  if (this._onSentLast === undefined) makeSendCallbacks(this);
  (Object.getPrototypeOf(this) as SendingTransport).send.call(this, packets);
}

/**
 * engine.io's WebSocket transport makes four closures per session for its `send` (two that encode
 * and write a packet, two that hear the write's end): about 0.25 KB with their context, on every
 * session, though a session that is only pinged and written to directly (see writeFramesDirectly)
 * never calls that `send`. Made on the first call instead: `send` is engine.io's own, preceded by
 * making the same four closures when they are not there. Only when the four are engine.io 6.6's (by
 * their source) and `send` is its prototype's; else nothing changes.
 */
function sendCallbacksOnDemand(transport: SendingTransport): void {
  if (transport.name !== "websocket" || Object.hasOwn(transport, "send")) return;
  const names = Object.keys(SEND_CALLBACK_SOURCES) as SendCallbackName[];
  if (names.some((name) => String(transport[name]) !== SEND_CALLBACK_SOURCES[name])) return;
  for (const name of names) transport[name] = undefined;
  transport.send = sendMakingCallbacks;
}

/** Node's net.Socket: the peer address it caches on the first `remoteAddress` (lib/net.js, _getpeername). */
interface PeerNameCache {
  _peername?: object;
  _handle?: { getpeername?: unknown } | null;
}

/**
 * Node caches a TCP socket's peer address in an object of its own (`_peername`: address, family,
 * port) on the first `remoteAddress`; engine.io reads it once, at the handshake, and keeps the
 * address string on its Socket (`socket.remoteAddress`, what the node uses). Dropped while the
 * socket's handle can give it again (Node then asks the handle on the next read: the same
 * address); nothing on the node reads the TCP socket's `remoteAddress` after the handshake.
 */
function forgetPeerName(socket: EngineSocket): void {
  const raw = rawSocketOf(socket) as (Socket & PeerNameCache) | undefined;
  if (raw?._peername && typeof raw._handle?.getpeername === "function") raw._peername = undefined;
}
