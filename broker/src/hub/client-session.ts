import type { SessionId, SocketId } from "@regio/protocol";
import type { Socket as EngineSocket } from "engine.io";
import { SendFlags, type Handshake } from "@regio/protocol";
import {
  rawSocketOf,
  releaseHandshakeRequest,
  releaseReadBuffers,
  requestHandshake,
  sessionIdOf,
  takesPreEncodedFrames,
  writeFramesDirectly,
} from "../internals/engine-io.ts";
import { AckCapture } from "./ack-capture.ts";
import { shareRequestParts } from "./shared-strings.ts";
import { HeldUntilConnect } from "./held-until-connect.ts";
import type { HubStats } from "../telemetry/hub-stats.ts";
import { RunCursor, type FrameRun } from "./frame-run.ts";
import type { PreparedPacket, WriteOptions } from "./prepared-packet.ts";
import type { TickWriter, TickWrites } from "./tick-writes.ts";
import type { AppLink } from "./app-link.ts";
import type { SocketOwner } from "./membership.ts";

/**
 * What every session of a hub shares: kept once per hub, not once per session (an idle client
 * should cost the node as little memory as it can).
 */
export interface SessionSettings {
  /** The hub's counters of what its clients are sent (see HubStats). */
  readonly counters: HubStats["client"];
  readonly connectTimeoutMs: number;
  /** Bytes a client may owe (written, not yet taken by its transport) before it is disconnected. */
  readonly maxQueuedBytes: number;
  readonly onOverflow: (session: ClientSession, queuedBytes: number) => void;
  readonly tickWrites: TickWrites;
}

/**
 * One client's Engine.IO session on this node, and the app server link it is bound to for life.
 * The session knows nothing of Socket.IO semantics beyond the namespaces its sockets joined; the
 * app server's socket.io does the rest.
 */
export class ClientSession implements TickWriter {
  readonly id: SessionId;
  /** socket ids of this session, by namespace, so the session's sockets can be dropped when it closes. */
  readonly sockets = new SessionSockets();
  /** The broadcast acks it owes, made on the first one awaited (most clients never owe one). */
  private ackCapture: AckCapture | undefined;
  /** Who owns this session's sockets (one object for all of them), set by the hub on the first join. */
  owner: SocketOwner | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  /** Bytes written since engine.io last handed its buffer to the transport (or since a direct write). */
  private queuedBytes = 0;
  /** Bytes the TCP socket still held when this tick's run began (written directly, not yet sent). */
  private socketBacklog = 0;
  private corked = false;
  /** Sockets being recovered on this session, whose packets wait for their CONNECT. */
  private recovering: HeldUntilConnect | undefined;
  /** What this WebSocket client was given this tick, written when the tick ends (see TickWrites). */
  private cursor: RunCursor | undefined;

  constructor(
    readonly engineSocket: EngineSocket,
    /** The app server link it is bound to for life (kept after the link is gone, to say it closed). */
    readonly link: AppLink,
    private readonly settings: SessionSettings,
  ) {
    this.id = sessionIdOf(engineSocket);
    // What the handshake said is kept in one small object; the request and what holds it go.
    // Most of it says what other clients' say: equal values are held once per node.
    releaseHandshakeRequest(engineSocket, shareRequestParts);
    // A client that never connects to a namespace holds a session for nothing (Socket.IO's connectTimeout).
    this.connectTimer = setTimeout(closeIfNoSocket, settings.connectTimeoutMs, this);
    this.connectTimer.unref();
  }

  get acks(): AckCapture {
    return (this.ackCapture ??= new AckCapture());
  }

  /** No broadcast ack awaited from it: what it sends goes to its app server as it is. */
  get owesNoAcks(): boolean {
    return this.ackCapture?.idle ?? true;
  }

  get linkId(): string {
    return this.link.id;
  }

  /**
   * engine.io handed its whole buffer to the transport: what was queued is gone from it. Several
   * packets at once (a tick's run waited behind a write the client had not taken yet, with a ping
   * or a packet that could not join a run): one write for them all.
   */
  flushed(buffer: unknown[]): void {
    this.queuedBytes = 0;
    if (buffer.length > 1) this.corkForThisTick();
  }

  get open(): boolean {
    return this.engineSocket.readyState === "open";
  }

  handshake(): Handshake {
    const socket = this.engineSocket;
    const { url, headers, secure } = requestHandshake(socket);
    return {
      url,
      headers,
      remoteAddress: socket.remoteAddress,
      secure,
      transport: socket.transport.name,
      protocol: socket.protocol,
    };
  }

  /** The query engine.io parsed from the handshake's URL (to share with the socket's snapshot). */
  get query(): Readonly<Record<string, unknown>> {
    return requestHandshake(this.engineSocket).query;
  }

  addSocket(nsp: string, sid: SocketId): void {
    this.sockets.add(nsp, sid);
    // Its CONNECT was read: what ws's receiver grew to read it can go (an idle client reads no more).
    releaseReadBuffers(this.engineSocket);
    if (this.connectTimer) {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    }
  }

  /** The socket of `nsp` is being recovered here: its packets wait for its CONNECT (see HeldUntilConnect). */
  holdUntilConnected(nsp: string): void {
    (this.recovering ??= new HeldUntilConnect()).hold(nsp);
  }

  /**
   * Writes one packet (all its parts), or holds it while its socket is being recovered: at once
   * over polling, at the end of the tick over WebSocket (with whatever else the client is given in
   * the tick, in order, in one write). Returns false when it was not written: the session is gone,
   * or the packet is volatile and the transport cannot take it now (as socket.io does; a packet
   * written earlier in the tick has it busy until then).
   */
  write(packet: PreparedPacket): boolean {
    if (!this.recovering) return this.send(packet);
    const verdict = this.recovering.take(packet);
    if (verdict.kind === "write") return this.send(packet);
    if (verdict.kind === "held") {
      if (!this.open) return false;
      // Held packets count against the same bound as queued ones: a CONNECT that never comes must
      // not grow this node's memory.
      if (this.queuedBytes + this.socketBacklog + this.recovering.bytes > this.settings.maxQueuedBytes)
        this.overflow();
      return this.open;
    }
    if (this.recovering.isEmpty) this.recovering = undefined;
    const written = this.send(packet);
    for (const held of verdict.release) this.send(held);
    return written;
  }

  private send(packet: PreparedPacket): boolean {
    if (!this.open) return false;
    if (packet.flags & SendFlags.volatile && this.busy()) return false;
    if (this.cursor?.shared) this.leaveSharedCursor();
    // A client that stops reading must not grow this node's memory without bound: past the limit it
    // is disconnected (its socket.io-client reconnects and catches up, as after any network loss).
    this.queuedBytes += packet.bytes;
    if (this.queuedBytes + this.socketBacklog > this.settings.maxQueuedBytes) {
      this.overflow();
      return false;
    }
    this.settings.counters.packetsOut += packet.data.length;
    this.settings.counters.bytesOut += packet.bytes;
    if (this.cursor) {
      this.cursor.run = this.cursor.run.then(packet);
      return true;
    }
    if (takesPreEncodedFrames(this.engineSocket)) {
      this.socketBacklog = rawSocketOf(this.engineSocket)?.writableLength ?? 0;
      this.cursor = new RunCursor(this.settings.tickWrites.begin(this).then(packet), false);
      return true;
    }
    this.writeNow(packet);
    return true;
  }

  /** This tick's run when the client has one of its own (not shared), to find clients that may share one. */
  get ownRun(): FrameRun | undefined {
    return this.cursor?.shared ? undefined : this.cursor?.run;
  }

  /** From now on this tick, moves with `cursor`, which stands where the client's own run does. */
  shareCursor(cursor: RunCursor): void {
    if (this.ownRun === cursor.run) this.cursor = cursor;
  }

  /** Given something the others of its shared cursor are not: it goes on from a cursor of its own. */
  private leaveSharedCursor(): void {
    const shared = this.cursor!;
    shared.broken = true;
    this.queuedBytes += shared.sharedBytes;
    this.cursor = new RunCursor(shared.run, false);
  }

  private overflow(): void {
    this.settings.onOverflow(this, this.queuedBytes + this.socketBacklog + (this.recovering?.bytes ?? 0));
    this.cursor = undefined;
    this.engineSocket.close(true);
  }

  /**
   * Whether the client has a write in flight (socket.io drops volatile packets then): one given
   * earlier this tick, one engine.io has not finished, or bytes written directly not yet sent.
   */
  private busy(): boolean {
    if (this.cursor || !this.engineSocket.transport.writable) return true;
    return (rawSocketOf(this.engineSocket)?.writableLength ?? 0) > 0;
  }

  /** The end of the tick: what the client was given in it leaves in one write, shared with its peers. */
  flushTick(): void {
    const cursor = this.cursor;
    this.cursor = undefined;
    if (!cursor || !this.open) return;
    if (cursor.shared) {
      this.queuedBytes += cursor.sharedBytes;
      if (this.queuedBytes + this.socketBacklog > this.settings.maxQueuedBytes) return this.overflow();
    }
    const run = cursor.run;
    const frames = run.frames();
    if (frames && writeFramesDirectly(this.engineSocket, frames)) {
      // Out of this session's queue, into the TCP socket's: counted as its backlog from now on.
      this.queuedBytes = 0;
    } else if (frames) {
      // engine.io writes the pre-built frame as is; the data only names the packet for its listeners.
      const options: WriteOptions = { compress: false, wsPreEncodedFrame: [frames] };
      this.engineSocket.write(frames, options);
    } else for (const packet of run.packets()) this.writeNow(packet);
  }

  private writeNow(packet: PreparedPacket): void {
    this.corkForThisTick();
    if (packet.data.length === 1) {
      this.engineSocket.write(packet.data[0]!, packet.options);
      return;
    }
    for (const part of packet.data) this.engineSocket.write(part, packet.partOptions);
  }

  /**
   * Stops (true) or resumes (false) reading what the client sends, while its app server reads too
   * slowly: flow control instead of buffering. WebSocket transport only (a polling client sends one
   * request at a time, each bounded by maxHttpBufferSize).
   */
  pauseReading(paused: boolean): void {
    const raw = rawSocketOf(this.engineSocket);
    if (paused) raw?.pause();
    else raw?.resume();
  }

  /**
   * One write per client per tick where runs cannot do it (permessage-deflate on, or engine.io
   * flushing several packets at once): the client's TCP socket is corked on the first frame and
   * uncorked when the tick ends, so the frames leave in one writev instead of one syscall each.
   * (WebSocket transport only; polling answers one request at a time.)
   */
  private corkForThisTick(): void {
    if (this.corked) return;
    const raw = rawSocketOf(this.engineSocket);
    if (!raw) return;
    this.corked = true;
    raw.cork();
    process.nextTick(() => {
      this.corked = false;
      raw.uncork();
    });
  }

  close(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    // What it was given before the close goes first (engine.io sends its buffer, then closes).
    this.flushTick();
    this.engineSocket.close();
  }
}

function closeIfNoSocket(session: ClientSession): void {
  if (session.sockets.size === 0) session.close();
}

/**
 * The socket ids of one session by namespace, usually one: the first in two fields, any others as
 * a flat array of (namespace, id) pairs, rather than a Map (whose smallest table costs about 200
 * bytes per session) or an array for the one.
 */
export class SessionSockets {
  private nsp: string | undefined;
  private sid: SocketId | undefined;
  /** The sockets of further namespaces, (namespace, id) pairs. */
  private more: string[] | undefined;

  get size(): number {
    return (this.nsp === undefined ? 0 : 1) + (this.more ? this.more.length / 2 : 0);
  }

  /** Sets the socket of `nsp` (replacing the one it had). */
  add(nsp: string, sid: SocketId): void {
    if (this.nsp === undefined || this.nsp === nsp) {
      this.nsp = nsp;
      this.sid = sid;
      return;
    }
    const more = this.more ?? [];
    for (let i = 0; i < more.length; i += 2) {
      if (more[i] !== nsp) continue;
      more[i + 1] = sid;
      return;
    }
    // A new array of just this length (`concat`): `push`, and a spread too, would leave room for
    // 17 more (0.15 KB per session).
    this.more = more.concat(nsp, sid);
  }

  *[Symbol.iterator](): IterableIterator<[string, SocketId]> {
    if (this.nsp !== undefined) yield [this.nsp, this.sid!];
    const more = this.more ?? [];
    for (let i = 0; i < more.length; i += 2) yield [more[i]!, more[i + 1] as SocketId];
  }
}
