import { SpanKind, type Span } from "@opentelemetry/api";
import type { NodeId, SessionId } from "@regio/protocol";
import {
  MessageType,
  MessagingAttribute,
  MessagingOperation,
  SocketAction,
  type Broadcast,
  type BroadcastWithAck,
  type Operation,
  type ServerSideEmit,
  type SocketSnapshot,
  type Target,
  SocketId,
} from "@regio/protocol";
import { socketIoAttributes, type BrokerTracing, type Hop } from "../telemetry/broker-tracing.ts";
import type { AppLink } from "./app-link.ts";
import type { ClientSession } from "./client-session.ts";
import type { MembershipIndex, SocketEntry } from "./membership.ts";
import { preparePacket, type PreparedPacket } from "./prepared-packet.ts";
import { FanOut } from "./fan-out.ts";
import { Recipients } from "./recipients.ts";
import type { TickWrites } from "./tick-writes.ts";
import type { HubStats } from "../telemetry/hub-stats.ts";
import { withOffset } from "./recovery-offset.ts";
import type { ServerSideEmitRequests } from "./server-side-emit.ts";

const DEFAULT_SERVER_SIDE_EMIT_TIMEOUT_MS = 5000;
/** setTimeout fires at once past 2^31 - 1 ms: a timeout an app server sends is clamped to it. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const clampTimer = (ms: number): number => Math.max(0, Math.min(MAX_TIMER_MS, ms));

/**
 * Carries out an app server's operation on this node's part of the hub: the sockets whose client
 * sessions live here. `origin` is the link the operation arrived on, or undefined when it was
 * replicated from another node (then it may only be delivered, never published again). `via` is
 * the operation's hop through this node: the trace context it passes on to the app servers it tells,
 * and, when recorded, the parent of the one delivery span per operation (with the number of clients
 * written to, never a span per client).
 */
export class OperationExecutor {
  constructor(
    private readonly hub: string,
    private readonly tracing: BrokerTracing,
    private readonly nodeId: NodeId,
    private readonly index: MembershipIndex,
    private readonly sessions: ReadonlyMap<SessionId, ClientSession>,
    private readonly links: ReadonlyMap<string, AppLink>,
    private readonly serverSideEmits: ServerSideEmitRequests,
    tickWrites: TickWrites,
    counters: HubStats["client"],
  ) {
    this.recipients = new Recipients(index, sessions, nodeId);
    this.fanOut = new FanOut(tickWrites, counters);
  }

  private readonly fanOut: FanOut;

  /** Broadcasts' recipients on this node, listed once per target while the view stays the same. */
  private readonly recipients: Recipients;

  execute(operation: Operation, origin: AppLink | undefined, via: Hop, position?: StreamPosition): void {
    switch (operation.type) {
      case MessageType.Broadcast:
        return this.deliver(
          operation,
          preparePacket(operation.packet, operation.flags, true),
          origin,
          via,
          position,
        );
      case MessageType.BroadcastWithAck:
        if (origin) this.broadcastWithAck(operation, origin, via);
        return;
      case MessageType.SocketsJoin:
        return this.applyToSockets(operation.target, origin, SocketAction.join, operation.rooms, via);
      case MessageType.SocketsLeave:
        return this.applyToSockets(operation.target, origin, SocketAction.leave, operation.rooms, via);
      case MessageType.DisconnectSockets: {
        const action = operation.close ? SocketAction.disconnectAndClose : SocketAction.disconnect;
        return this.applyToSockets(operation.target, origin, action, [], via);
      }
      case MessageType.ServerSideEmit:
        return this.serverSideEmit(operation, origin, via);
    }
  }

  /**
   * A recoverable broadcast's packet with its recovery offset as the event's last argument (as
   * socket.io's own recovery does), prepared once for every client of this node; undefined when the
   * packet is not an event the offset can be added to.
   */
  recoverablePacket(operation: Broadcast, offset: string): PreparedPacket | undefined {
    const [text, ...attachments] = operation.packet;
    const marked = typeof text === "string" ? withOffset(text, offset) : undefined;
    return marked === undefined ? undefined : preparePacket([marked, ...attachments], operation.flags, true);
  }

  /**
   * Writes a broadcast's packet to this node's clients the target reaches, except to a recovered
   * socket that already received it (from the node it left, which was ahead of this one), under one
   * delivery span (when `via` is recorded) that counts them.
   */
  deliver(
    operation: Broadcast,
    packet: PreparedPacket,
    origin: AppLink | undefined,
    via?: Hop,
    position?: StreamPosition,
  ): void {
    const span = via && this.deliverySpan(via, packet.bytes);
    const list = this.recipients.of(operation.target, origin?.id);
    const written = this.fanOut.deliver(list, packet, position);
    span?.setAttribute(MessagingAttribute.batchMessageCount, written).end();
  }

  fetchSockets(target: Target, linkId: string): SocketSnapshot[] {
    const snapshots: SocketSnapshot[] = [];
    for (const entry of this.index.select(target)) {
      if (target.local && entry.owner.linkId !== linkId) continue;
      snapshots.push(snapshotOf(entry));
    }
    return snapshots;
  }

  /** This node's sockets a target reaches; with `local`, only those of the origin link. */
  private *localTargets(target: Target, origin: AppLink | undefined): Generator<SocketEntry> {
    for (const entry of this.index.select(target)) {
      if (entry.owner.nodeId !== this.nodeId) continue;
      if (target.local && entry.owner.linkId !== origin?.id) continue;
      yield entry;
    }
  }

  /** The one span of a fan-out on this node (its count is set when it ends). */
  private deliverySpan(via: Hop, bytes: number): Span | undefined {
    return this.tracing.child(`deliver ${this.hub}`, SpanKind.PRODUCER, via.context, () => ({
      ...socketIoAttributes(this.hub, MessagingOperation.send, "deliver"),
      [MessagingAttribute.bodySize]: bytes,
    }));
  }

  private broadcastWithAck(operation: BroadcastWithAck, origin: AppLink, via: Hop): void {
    const packet = preparePacket(operation.packet, operation.flags, true);
    const span = this.deliverySpan(via, packet.bytes);
    const nsp = operation.target.nsp;
    const waiter = {
      onAck: (ack: BroadcastWithAck["packet"]) =>
        origin.send({ type: MessageType.BroadcastAck, requestId: operation.requestId, packet: ack }),
    };
    const awaited: ClientSession[] = [];
    for (const entry of this.localTargets(operation.target, origin)) {
      const session = this.sessions.get(entry.owner.sessionId);
      if (!session) continue;
      session.acks.expect(nsp, operation.ackId, waiter);
      if (session.write(packet)) awaited.push(session);
      else session.acks.forget(nsp, operation.ackId);
    }
    span?.setAttribute(MessagingAttribute.batchMessageCount, awaited.length).end();
    origin.send({
      type: MessageType.BroadcastAckCount,
      requestId: operation.requestId,
      clientCount: awaited.length,
    });
    // After the timeout the emitter has given up: stop watching for these acks.
    setTimeout(() => {
      for (const session of awaited) session.acks.forget(nsp, operation.ackId);
    }, clampTimer(operation.timeoutMs)).unref();
  }

  /**
   * socketsJoin/socketsLeave/disconnectSockets. The view changes at once, so that an operation the
   * same app server sends next (say, a broadcast to the joined room) already sees it; the owning app
   * servers are then told to apply it to their Socket.IO sockets. The origin link applied it to its
   * own sockets before sending, so it is skipped.
   */
  private applyToSockets(
    target: Target,
    origin: AppLink | undefined,
    action: SocketAction,
    rooms: string[],
    via: Hop,
  ): void {
    const sidsByLink = new Map<string, SocketId[]>();
    for (const entry of [...this.localTargets(target, origin)]) {
      if (origin && entry.owner.linkId === origin.id) continue;
      if (action === SocketAction.join) this.index.join(target.nsp, entry.sid, entry.owner, rooms);
      else if (action === SocketAction.leave) this.index.leave(target.nsp, entry.sid, rooms);
      else this.index.remove(target.nsp, entry.sid);
      const sids = sidsByLink.get(entry.owner.linkId);
      if (sids) sids.push(entry.sid);
      else sidsByLink.set(entry.owner.linkId, [entry.sid]);
    }
    for (const [linkId, sids] of sidsByLink) {
      this.links
        .get(linkId)
        ?.send({ type: MessageType.ApplyToSockets, nsp: target.nsp, sids, action, rooms, trace: via.trace });
    }
  }

  private serverSideEmit(operation: ServerSideEmit, origin: AppLink | undefined, via: Hop): void {
    const targets = [...this.links.values()].filter((link) => link !== origin);
    const deliver = (link: AppLink, requestId?: number) =>
      link.send({
        type: MessageType.ServerSideEmitDeliver,
        nsp: operation.nsp,
        args: operation.args,
        requestId,
        trace: via.trace,
      });
    if (origin && operation.requestId !== undefined) {
      const timeoutMs = clampTimer(operation.timeoutMs ?? DEFAULT_SERVER_SIDE_EMIT_TIMEOUT_MS);
      this.serverSideEmits.start(origin, operation.requestId, targets, timeoutMs, deliver);
      return;
    }
    for (const link of targets) deliver(link);
  }
}

function snapshotOf(entry: SocketEntry): SocketSnapshot {
  const rooms = [...entry.rooms];
  if (entry.snapshot) return { ...entry.snapshot, rooms };
  return {
    id: entry.sid,
    rooms,
    data: undefined,
    handshake: {
      headers: {},
      time: "",
      address: "",
      xdomain: false,
      secure: false,
      issued: 0,
      url: "",
      query: {},
      auth: {},
    },
  };
}

/** Where an operation stands in its stream: the stream's tag in recovery offsets, and its seq. */
export interface StreamPosition {
  tag: string;
  seq: number;
}
