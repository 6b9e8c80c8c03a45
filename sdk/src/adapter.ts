import { encode } from "@msgpack/msgpack";
import {
  Adapter,
  type BroadcastOptions,
  type PrivateSessionId,
  type Room,
  type Session,
  type SocketId,
} from "socket.io-adapter";
import type { Namespace, Socket } from "socket.io";
import { Decoder, PacketType, type Packet } from "socket.io-parser";
import type { Links } from "./link/regional-links.ts";
import { OutgoingListeners } from "./outgoing-listeners.ts";
import type { VirtualConnection } from "./engine/virtual-connection.ts";
import {
  NO_SESSION,
  notifyOutgoingListeners,
  privateSessionIdOf,
  regioEngineOf,
  virtualConnectionOf,
} from "./internals/socket-io.ts";
import { targetAttributes, type AppTracing } from "./tracing/app-tracing.ts";
import {
  boundedSnapshot,
  boundedValue,
  DEFAULT_SNAPSHOT_BOUNDS,
  encodeMessage,
  ErrorCode,
  MessageType,
  RegioError,
  SendFlags,
  SocketId as WireSocketId,
  type Message,
  type Payload,
  type Recovery,
  type SocketSnapshot,
  type Target,
} from "@regio/protocol";

const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** socket.io's default maxDisconnectionDuration. */
const DEFAULT_RECOVERY_WINDOW_MS = 120_000;
/** More app servers than any hub has: a ServerCountResult past it is not a count. */
const MAX_SERVER_COUNT = 10_000;
/** setTimeout fires at once past 2^31 - 1 ms: an app's `timeout(ms)` is clamped to it. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * Ack ids of broadcasts-with-ack are drawn from [2^48, 2^53): the broker routes a client's ack by
 * (namespace, id), and socket.io's own per-socket ack ids count up from 0 on every app server, so
 * the two never meet.
 */
const BROADCAST_ACK_ID_BASE = 2 ** 48;

/** What socket.io calls on an adapter, served by the broker instead of the local process. */
export class RegioAdapter extends Adapter {
  private readonly link: Links;
  private readonly tracing: AppTracing;
  /** Sockets whose first Join (with their snapshot) has been sent. */
  private readonly announced = new Set<SocketId>();
  private readonly sentData = new Map<SocketId, string>();
  private readonly outgoing = new OutgoingListeners();
  private lastServerCount: Promise<number> = Promise.resolve(1);

  constructor(nsp: Namespace, link: Links, tracing: AppTracing) {
    super(nsp);
    this.link = link;
    this.tracing = tracing;
  }

  override addAll(id: SocketId, rooms: Set<Room>): void {
    super.addAll(id, rooms);
    const socket = this.nsp.sockets.get(id);
    if (socket) this.outgoing.watch(socket);
    // Joins made before the socket is connected (middleware, session recovery) are announced
    // together with the socket's own room when socket.io connects it.
    const link = socket && linkOf(socket);
    if (!socket || !link) return;
    const first = !this.announced.has(id);
    if (first) this.announced.add(id);
    link.send({
      type: MessageType.Join,
      sessionId: socket.conn.id,
      nsp: this.nsp.name,
      sid: WireSocketId(id),
      rooms: first ? [...(this.sids.get(id) ?? rooms)] : [...rooms],
      snapshot: first ? this.snapshot(socket) : undefined,
      recovery: first ? this.recoveryOf(socket) : undefined,
    });
    // The connection handler usually fills socket.data right after connect: send it once it ran.
    if (first) setImmediate(() => this.refreshData(id));
    else this.refreshData(id);
  }

  override del(id: SocketId, room: Room): void {
    super.del(id, room);
    const socket = this.nsp.sockets.get(id);
    if (!socket || !this.announced.has(id)) return;
    linkOf(socket)?.send({
      type: MessageType.Leave,
      nsp: this.nsp.name,
      sid: WireSocketId(id),
      rooms: [room],
    });
    this.refreshData(id);
  }

  override delAll(id: SocketId): void {
    super.delAll(id);
    this.outgoing.forget(id);
    const socket = this.nsp.sockets.get(id);
    if (!this.announced.delete(id)) return;
    this.sentData.delete(id);
    if (socket)
      linkOf(socket)?.send({ type: MessageType.LeaveAll, nsp: this.nsp.name, sid: WireSocketId(id) });
  }

  override broadcast(packet: Packet, opts: BroadcastOptions): void {
    packet.nsp = this.nsp.name;
    this.notifyOutgoing(packet, opts);
    // With recovery on, the node adds its recovery offset to events (not to those with acks, nor
    // volatile ones, as socket.io does) and keeps them for clients that come back.
    const recoverable =
      this.recoveryWindowMs !== undefined &&
      packet.type === PacketType.EVENT &&
      packet.id === undefined &&
      !opts.flags?.volatile;
    const target = targetOf(this.nsp.name, opts);
    const broadcast = {
      type: MessageType.Broadcast,
      target,
      packet: this.nsp.server.encoder.encode(packet) as Payload[],
      flags: flagsOf(opts) | (recoverable ? SendFlags.recoverable : 0),
      trace: this.traceOf("broadcast", target),
    } as const;
    // `local` reaches only this app server's clients: nothing to replicate, so no sequence number.
    if (opts.flags?.local) this.link.sendToAll(this.checkedSize({ ...broadcast, seq: 0 }));
    else this.link.sendOperation(broadcast);
  }

  override broadcastWithAck(
    packet: Packet,
    opts: BroadcastOptions,
    clientCountCallback: (clientCount: number) => void,
    ack: (...args: unknown[]) => void,
  ): void {
    packet.nsp = this.nsp.name;
    packet.id = BROADCAST_ACK_ID_BASE + Math.floor(Math.random() * (2 ** 53 - BROADCAST_ACK_ID_BASE));
    this.notifyOutgoing(packet, opts);
    const timeoutMs = clampTimer(opts.flags?.timeout ?? DEFAULT_REQUEST_TIMEOUT_MS);
    // socket.io's BroadcastOperator calls serverCount() right after this method and then expects one
    // clientCountCallback per server; the broker counts all clients at once, so the total goes in
    // the first call and the other servers report zero.
    const serverCount = Promise.resolve().then(() => this.lastServerCount);
    // Every node of the region writes to the clients it holds and counts them; the counts add up.
    let counted = 0;
    let clients = 0;
    const encoded = this.nsp.server.encoder.encode(packet) as Payload[];
    const target = targetOf(this.nsp.name, opts);
    const trace = this.traceOf("broadcastWithAck", target);
    this.checkedSize({
      type: MessageType.Broadcast,
      seq: 0,
      target: targetOf(this.nsp.name, opts),
      packet: encoded,
      flags: 0,
    });
    const { nodes, cancel } = this.link.requestAll(
      (requestId) => ({
        type: MessageType.BroadcastWithAck,
        seq: 0,
        requestId,
        target,
        packet: encoded,
        ackId: packet.id as number,
        flags: flagsOf(opts),
        timeoutMs,
        trace,
      }),
      (reply) => {
        if (reply.type === MessageType.BroadcastAckCount) {
          clients += reply.clientCount;
          if (++counted === nodes) {
            void serverCount.then((servers) => {
              clientCountCallback(clients);
              for (let i = 1; i < servers; i++) clientCountCallback(0);
            });
          }
        } else if (reply.type === MessageType.BroadcastAck) {
          const args = ackArguments(reply.packet);
          if (args) ack(...args);
        }
        return false;
      },
    );
    setTimeout(cancel, timeoutMs).unref();
  }

  override serverCount(): Promise<number> {
    this.lastServerCount = new Promise((resolve) => {
      const cancel = this.link.request(
        (requestId) => ({ type: MessageType.ServerCount, requestId }),
        (reply) => {
          if (reply.type === MessageType.Error) resolve(1);
          if (reply.type !== MessageType.ServerCountResult) return false;
          // broadcastWithAck calls back once per server: a count no hub has (2^53 - 1, from a
          // broken or hostile node) looped the app server for good. It counts as unknown (1).
          resolve(reply.count >= 1 && reply.count <= MAX_SERVER_COUNT ? reply.count : 1);
          return true;
        },
      );
      setTimeout(() => {
        cancel();
        resolve(1);
      }, DEFAULT_REQUEST_TIMEOUT_MS).unref();
    });
    return this.lastServerCount;
  }

  override async fetchSockets(opts: BroadcastOptions): Promise<(Socket | SocketSnapshot)[]> {
    if (opts.flags?.local) return super.fetchSockets(opts) as Promise<Socket[]>;
    // Only the sockets the query can return need their data re-checked (an encode each).
    for (const id of this.localTargets(opts)) this.refreshData(id);
    const timeoutMs = clampTimer(opts.flags?.timeout ?? DEFAULT_REQUEST_TIMEOUT_MS);
    const snapshots = await new Promise<SocketSnapshot[]>((resolve, reject) => {
      const cancel = this.link.request(
        (requestId) => ({ type: MessageType.FetchSockets, requestId, target: targetOf(this.nsp.name, opts) }),
        (reply) => {
          if (reply.type === MessageType.Error) {
            clearTimeout(timer);
            reject(new RegioError(ErrorCode.BadFrame, `fetchSockets failed: ${reply.message}`));
            return true;
          }
          if (reply.type !== MessageType.FetchSocketsResult) return false;
          clearTimeout(timer);
          resolve(reply.sockets);
          return true;
        },
      );
      const timer = setTimeout(() => {
        cancel();
        reject(new Error("timeout reached while waiting for fetchSockets response"));
      }, timeoutMs);
    });
    // This app server's own sockets come from its own state, as live Socket objects (as socket.io
    // does): their room changes are known here at once, while the node that answered may not have
    // heard yet from the node that holds their sessions. So a fetch always reads this app server's
    // own writes; other app servers' sockets are as the node's view has them.
    const remote = snapshots.filter((snapshot) => !this.nsp.sockets.has(snapshot.id));
    const local = [...this.localTargets(opts)].flatMap((id) => this.nsp.sockets.get(id) ?? []);
    return [...local, ...remote];
  }

  override async sockets(rooms: Set<Room>): Promise<Set<SocketId>> {
    const sockets = await this.fetchSockets({ rooms, except: new Set() });
    return new Set(sockets.map((socket) => socket.id));
  }

  override addSockets(opts: BroadcastOptions, rooms: Room[]): void {
    super.addSockets(opts, rooms);
    if (opts.flags?.local) return;
    const target = targetOf(this.nsp.name, opts);
    this.link.sendOperation({
      type: MessageType.SocketsJoin,
      target,
      rooms,
      trace: this.traceOf("socketsJoin", target),
    });
  }

  override delSockets(opts: BroadcastOptions, rooms: Room[]): void {
    super.delSockets(opts, rooms);
    if (opts.flags?.local) return;
    const target = targetOf(this.nsp.name, opts);
    this.link.sendOperation({
      type: MessageType.SocketsLeave,
      target,
      rooms,
      trace: this.traceOf("socketsLeave", target),
    });
  }

  override disconnectSockets(opts: BroadcastOptions, close: boolean): void {
    super.disconnectSockets(opts, close);
    if (opts.flags?.local) return;
    const target = targetOf(this.nsp.name, opts);
    this.link.sendOperation({
      type: MessageType.DisconnectSockets,
      target,
      close,
      trace: this.traceOf("disconnectSockets", target),
    });
  }

  override serverSideEmit(packet: unknown[]): void {
    const last = packet[packet.length - 1];
    const nsp = { "socket.io.namespace": this.nsp.name };
    const trace = this.tracing.outgoing("serverSideEmit", () => nsp);
    if (typeof last !== "function") {
      this.link.sendOperation({ type: MessageType.ServerSideEmit, nsp: this.nsp.name, args: packet, trace });
      return;
    }
    const ack = last as (err: Error | null, responses: unknown[]) => void;
    const args = packet.slice(0, -1);
    const timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS;
    // What cannot be carried (nested too deep, too large) is refused here, at the emit: the link
    // would not send the request (it told onError only) and the app waited for its timeout.
    this.checkedSize({
      type: MessageType.ServerSideEmit,
      seq: 0,
      nsp: this.nsp.name,
      args,
      requestId: 0,
      timeoutMs,
    });
    let settled = false;
    const settle = (err: Error | null, responses: unknown[]) => {
      if (settled) return;
      settled = true;
      ack(err, responses);
    };
    const cancel = this.link.request(
      (requestId) => ({
        type: MessageType.ServerSideEmit,
        seq: 0,
        nsp: this.nsp.name,
        args,
        requestId,
        timeoutMs,
        trace,
      }),
      (reply) => {
        if (reply.type === MessageType.Error) {
          settle(new Error(`serverSideEmit failed: ${reply.message}`), []);
          return true;
        }
        if (reply.type !== MessageType.ServerSideEmitResult) return false;
        if (reply.complete) settle(null, reply.responses);
        else settle(new Error("timeout reached: some app servers did not answer"), reply.responses);
        return true;
      },
      { resend: false },
    );
    // The broker settles on time; this covers a broker that went away with the request.
    setTimeout(() => {
      cancel();
      settle(new Error("timeout reached: no answer from the broker"), []);
    }, timeoutMs + 1000).unref();
  }

  /** socket.io's maxDisconnectionDuration when connection state recovery is on; undefined when off. */
  private get recoveryWindowMs(): number | undefined {
    const options = this.nsp.server.opts.connectionStateRecovery;
    return options ? (options.maxDisconnectionDuration ?? DEFAULT_RECOVERY_WINDOW_MS) : undefined;
  }

  /** What the node needs to keep the socket for recovery, when recovery is on. */
  private recoveryOf(socket: Socket): Recovery | undefined {
    const windowMs = this.recoveryWindowMs;
    const pid = privateSessionIdOf(socket);
    return windowMs !== undefined && pid !== undefined ? { pid, windowMs } : undefined;
  }

  /**
   * The nodes keep every socket that may be recovered in their replicated view, whoever loses its
   * session (the node included): nothing for the app server to keep here.
   */
  override persistSession(): void {}

  /**
   * A client asks to recover the socket `pid` names, presenting the offset of the last event it
   * got: the node holding its new session restores it (rooms, data) and writes it every event it
   * missed, in order; socket.io then re-creates the socket with its id (`recovered`). Resolves null
   * when it cannot be recovered (socket.io then connects the client as a new socket).
   */
  override restoreSession(pid: PrivateSessionId, offset: string): Promise<Session> {
    const windowMs = this.recoveryWindowMs;
    const connection = regioEngineOf(this.nsp)?.recoveringWith(pid);
    if (windowMs === undefined || !connection) return Promise.resolve(NO_SESSION);
    return new Promise((resolve) => {
      const cancel = this.link.requestOn(
        connection.link,
        (requestId) => ({
          type: MessageType.RestoreSession,
          requestId,
          sessionId: connection.id,
          nsp: this.nsp.name,
          pid,
          offset,
          windowMs,
        }),
        (reply) => {
          if (reply.type === MessageType.RestoreSessionResult && reply.socket) {
            const { sid, rooms, data } = reply.socket;
            // The node wrote the missed events to the client already, before anything newer.
            resolve({ sid, pid, rooms, data, missedPackets: [] });
          } else resolve(NO_SESSION);
          return true;
        },
      );
      setTimeout(() => {
        cancel();
        resolve(NO_SESSION);
      }, DEFAULT_REQUEST_TIMEOUT_MS).unref();
    });
  }

  /**
   * How this socket looks to other app servers' fetchSockets(): what the client sent (auth, query,
   * headers) and socket.data, bounded so that no client can make it too deep or too large to carry.
   */
  private snapshot(socket: Socket): SocketSnapshot {
    return boundedSnapshot({
      id: socket.id,
      handshake: socket.handshake,
      rooms: [...(this.sids.get(socket.id) ?? [])],
      data: socket.data,
    });
  }

  /** The trace context an operation carries: undefined outside an active span (see AppTracing). */
  private traceOf(operation: string, target: Target) {
    return this.tracing.outgoing(operation, () => targetAttributes(target));
  }

  /** Throws PAYLOAD_TOO_LARGE or BAD_FRAME (into the app's emit) for what no node would accept. */
  private checkedSize<M extends Message>(message: M): M {
    let bytes: number;
    try {
      bytes = encodeMessage(message).byteLength;
    } catch (cause) {
      throw new RegioError(ErrorCode.BadFrame, "the operation's arguments cannot be encoded", { cause });
    }
    if (bytes > this.link.maxOperationBytes) {
      throw new RegioError(
        ErrorCode.PayloadTooLarge,
        `operation of ${bytes} bytes exceeds the ${this.link.maxOperationBytes} bytes a node accepts`,
      );
    }
    return message;
  }

  /** socket.data is a plain property: it is re-sent whenever it changed since it was last sent. */
  private refreshData(id: SocketId): void {
    const socket = this.nsp.sockets.get(id);
    if (!socket || !this.announced.has(id)) return;
    const data = boundedData(socket.data);
    const encoded = fingerprint(data);
    if (this.sentData.get(id) === encoded) return;
    this.sentData.set(id, encoded);
    linkOf(socket)?.send({ type: MessageType.SocketData, nsp: this.nsp.name, sid: WireSocketId(id), data });
  }

  /** onAnyOutgoing listeners of this app server's sockets see broadcast packets, as on plain socket.io. */
  private notifyOutgoing(packet: Packet, opts: BroadcastOptions): void {
    if (this.outgoing.none) return;
    for (const id of this.localTargets(opts)) {
      const socket = this.nsp.sockets.get(id);
      if (socket) notifyOutgoingListeners(socket, packet);
    }
  }

  /** This app server's sockets a target reaches, each once (the broker does the same for all). */
  private *localTargets(opts: BroadcastOptions): Generator<SocketId> {
    const skip = new Set<SocketId>();
    for (const room of opts.except ?? []) for (const id of this.rooms.get(room) ?? []) skip.add(id);
    if (opts.rooms.size === 0) {
      for (const id of this.sids.keys()) if (!skip.has(id)) yield id;
      return;
    }
    for (const room of opts.rooms) {
      for (const id of this.rooms.get(room) ?? []) {
        if (skip.has(id)) continue;
        skip.add(id);
        yield id;
      }
    }
  }
}

/**
 * Membership travels on the link of the node that holds the socket's client session; undefined for
 * a socket that is not a broker session (there are none: useRegio refuses direct connections).
 */
function linkOf(socket: Socket): VirtualConnection["link"] | undefined {
  return virtualConnectionOf(socket).link;
}

function clampTimer(ms: number): number {
  return Math.max(0, Math.min(MAX_TIMER_MS, ms));
}

function targetOf(nsp: string, opts: BroadcastOptions): Target {
  return {
    nsp,
    rooms: [...opts.rooms],
    except: [...(opts.except ?? [])],
    local: opts.flags?.local || undefined,
  };
}

function flagsOf(opts: BroadcastOptions): number {
  const flags = opts.flags ?? {};
  return (flags.compress === false ? 0 : SendFlags.compress) | (flags.volatile ? SendFlags.volatile : 0);
}

function fingerprint(data: unknown): string {
  try {
    return Buffer.from(encode(data)).toString("base64");
  } catch {
    return "unserializable";
  }
}

/** socket.data as other app servers see it: what MessagePack can carry, within the bounds, or nothing. */
function boundedData(data: unknown): unknown {
  return boundedValue(data, DEFAULT_SNAPSHOT_BOUNDS.maxDepth, DEFAULT_SNAPSHOT_BOUNDS.dataBytes);
}

/**
 * The arguments of a client's acknowledgement of a broadcast, or undefined when it is not one
 * socket.io can decode. Any client can send a malformed one (`3<id>{}`, an ack nested past the
 * stack): the node reads only its header. Plain socket.io drops such a packet (and closes that
 * client); here it is dropped too, rather than thrown out of the link's handler, which took the
 * app server down. The emitter gets the other clients' answers, or its timeout.
 */
function ackArguments(parts: Payload[]): unknown[] | undefined {
  const decoder = new Decoder();
  let decoded: Packet | undefined;
  decoder.on("decoded", (packet: Packet) => (decoded = packet));
  try {
    for (const part of parts) {
      decoder.add(
        typeof part === "string" ? part : Buffer.from(part.buffer, part.byteOffset, part.byteLength),
      );
    }
  } catch {
    return undefined;
  } finally {
    decoder.destroy();
  }
  const isAck = decoded?.type === PacketType.ACK || decoded?.type === PacketType.BINARY_ACK;
  return isAck && Array.isArray(decoded!.data) ? (decoded!.data as unknown[]) : undefined;
}
