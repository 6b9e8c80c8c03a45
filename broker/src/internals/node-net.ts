/**
 * The parts of Node's `net.Socket` that Regio uses beyond its public API, in one place: a Node
 * upgrade means re-checking this file (Node 20: lib/net.js, the Socket constructor's `kBuffer`,
 * `kBufferCb` and `kBufferGen`; lib/internal/stream_base_commons.js, `onStreamRead`).
 *
 * A TCP socket reads into a fresh 64 KiB allocation per read (a malloc, a realloc to what was read,
 * an ArrayBuffer and its backing store for V8 to sweep), which then goes through the Readable
 * stream (`push`, a "data" event). For reads that are mostly a few bytes (a WebSocket client's pong
 * every 25 s) that costs more than the read. Node's own option for client sockets, `onread: {buffer,
 * callback}`, reads into a buffer of the caller's and hands the callback the byte count instead; an
 * accepted socket takes no options, so the same is set up here on its handle and fields.
 */
import type { Socket } from "node:net";

/** What Node reads at most per read (libuv's suggested size for a stream read in Node). */
const READ_BUFFER_BYTES = 64 * 1024;
/**
 * One buffer for every socket whose reads are hooked: reads run one at a time on the event loop's
 * thread, and a read's bytes are handed on (or copied out) before the callback returns, so no two
 * reads' bytes are ever needed at once.
 */
let sharedReadBuffer: Buffer | undefined;

/**
 * Sees a read's bytes (`buffer[0..length)`, valid only during the call) before the socket's
 * Readable does: true if it consumed them (they are not pushed), false to let them go on as usual.
 */
export type ReadHook = (socket: Socket, buffer: Buffer, length: number) => boolean;

/** Node's private fields for `onread` on a Socket (found by their symbols' descriptions). */
interface UserBufferFields {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}
let fields: UserBufferFields | null | undefined;
interface TcpHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
  reading?: boolean;
}
type SocketFields = Socket & Record<symbol, unknown>;
type UserBufferCallback = (this: Socket, length: number, buffer: Buffer) => boolean;

function userBufferFields(socket: Socket): UserBufferFields | undefined {
  if (fields === undefined) {
    const byName = new Map(
      Object.getOwnPropertySymbols(socket).map((symbol) => [symbol.description, symbol]),
    );
    const buffer = byName.get("kBuffer");
    const callback = byName.get("kBufferCb");
    const generator = byName.get("kBufferGen");
    fields = buffer && callback && generator ? { buffer, callback, generator } : null;
  }
  return fields ?? undefined;
}

/** The `kBufferCb` of each hook: one function per hook, not per socket. */
const callbacks = new Map<ReadHook, UserBufferCallback>();

/**
 * onStreamRead calls it as `stream[kBufferCb](nread, userBuf)`, with `nread > 0` and the stream
 * not destroyed, and reads on only while it does not return false (Readable's back-pressure, as
 * the result of `push`). What the hook leaves is copied into a buffer of its own, exactly as large
 * as the read (what Node's own read gives), and pushed, so the Readable sees what it would have.
 */
function callbackFor(hook: ReadHook): UserBufferCallback {
  let callback = callbacks.get(hook);
  if (!callback) {
    callback = function (this: Socket, length: number, buffer: Buffer): boolean {
      if (hook(this, buffer, length)) return true;
      const chunk = Buffer.allocUnsafeSlow(length);
      buffer.copy(chunk, 0, 0, length);
      return this.push(chunk);
    };
    callbacks.set(hook, callback);
  }
  return callback;
}

/**
 * Hands the socket's reads to `hook` first, read into one buffer shared by all hooked sockets
 * instead of a new allocation per read. False (nothing changed) if this Node does not have what
 * that needs, or the socket has no handle, already reads into a buffer of its own, is not reading,
 * or has bytes waiting in its Readable (the hook must not see a read before those).
 */
export function hookReads(socket: Socket, hook: ReadHook): boolean {
  const handle = (socket as unknown as { _handle?: TcpHandle })._handle;
  const names = userBufferFields(socket);
  const hooked = socket as SocketFields;
  if (
    !names ||
    // A plain TCP handle (Node's TCPWrap), not TLS or a pipe: the one whose reads this was checked for.
    handle?.constructor?.name !== "TCP" ||
    typeof handle.useUserBuffer !== "function" ||
    handle.reading !== true ||
    hooked[names.buffer] !== null ||
    hooked[names.callback] !== null ||
    socket.readableLength > 0 ||
    socket.destroyed
  ) {
    return false;
  }
  sharedReadBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  handle.useUserBuffer(sharedReadBuffer);
  hooked[names.buffer] = sharedReadBuffer;
  hooked[names.callback] = callbackFor(hook);
  return true;
}
