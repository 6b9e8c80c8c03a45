import { SpanKind } from "@opentelemetry/api";
import type { NodeId, SessionId, SocketId } from "@regio/protocol";
import { Server as EngineServer, type ServerOptions, type Socket as EngineSocket } from "engine.io";
import {
  boundedSnapshot,
  boundedValue,
  DEFAULT_SNAPSHOT_BOUNDS,
  ErrorCode,
  MessageType,
  MessagingAttribute,
  MessagingOperation,
  RegioError,
  type Message,
  type NodeInfo,
  AppServerId,
} from "@regio/protocol";
import type { Logger } from "../logger.ts";
import type { MembershipRecord, ReplicatedRecord, Replicator } from "../replication/replicator.ts";
import { socketIoAttributes, type BrokerTracing } from "../telemetry/broker-tracing.ts";
import { HubStats } from "../telemetry/hub-stats.ts";
import type { HeartbeatSchedule } from "./heartbeats.ts";
import type { AppLink } from "./app-link.ts";
import { ClientSession, type SessionSettings } from "./client-session.ts";
import { releaseHandshakeRequest, sessionIdOf, trimOpenSession } from "../internals/engine-io.ts";
import { MembershipIndex, secondsNow, type SocketEntry, type SocketOwner } from "./membership.ts";
import { OperationIntake } from "./operation-intake.ts";
import { OrderedSends } from "./ordered-sends.ts";
import type { PersistedSocket } from "./persisted-sessions.ts";
import { SessionRecovery } from "./session-recovery.ts";
import { OperationExecutor } from "./operations.ts";
import { preparePacket } from "./prepared-packet.ts";
import { ServerSideEmitRequests } from "./server-side-emit.ts";
import { shareSessionHandshake, sharedIfEmpty } from "./shared-handshake.ts";
import { TickWrites } from "./tick-writes.ts";

export interface HubContext {
  nodeId: NodeId;
  /** Random per start of this node. */
  incarnation: string;
  region: string;
  replicator: Replicator;
  log: Logger;
  /** This node's spans (a no-op when tracing is off). */
  tracing: BrokerTracing;
  engineOptions: Partial<ServerOptions>;
  /** The node's heartbeat of its WebSocket client sessions (engineOptions' pingInterval and pingTimeout). */
  heartbeats: HeartbeatSchedule;
  connectTimeoutMs: number;
  /** Bytes a client may owe (written, not yet taken by its transport) before it is disconnected. */
  maxClientQueueBytes: number;
  /** Largest operation (its app-link frame) accepted: it must fit one record of the replication log. */
  maxOperationBytes: number;
  /** How long, and how many bytes of, recoverable events are kept for sessions that come back. */
  recovery: { windowMs: number; maxBytes: number };
  /** The time from which this node has read every event of the replicated log. */
  historyFrom(): number;
  /** This region's live nodes, for the SDK to link to each. */
  nodes(): NodeInfo[];
  /** App server ids linked to this hub on other live nodes, from their heartbeats. */
  remoteAppServers(hub: string): string[];
}

/** How many leases a gone node's sockets are kept aside for, in case it is heard again. */
const KEEP_SUSPENDED_LEASES = 30;

/**
 * One hub on this node: its Engine.IO server for clients, its app server links, the client
 * sessions bound to them, and the hub's membership view. Everything a hub holds is soft state: a
 * node can be replaced at any time, clients reconnect and app servers re-link.
 */
export class Hub {
  readonly engine: EngineServer;
  readonly index = new MembershipIndex();
  readonly links = new Map<string, AppLink>();
  readonly sessions = new Map<SessionId, ClientSession>();
  /** What this hub did on this node, for the node's metrics. */
  readonly stats = new HubStats();
  /** The node's heartbeat schedule (shared by its hubs; for tests and diagnostics). */
  get heartbeats(): HeartbeatSchedule {
    return this.ctx.heartbeats;
  }
  private readonly executor: OperationExecutor;
  private readonly serverSideEmits: ServerSideEmitRequests;
  private readonly intake: OperationIntake;
  private readonly recovery: SessionRecovery;
  /** A session's packets from its app server wait here for the broadcasts sent before them. */
  private readonly orderedSends: OrderedSends<ClientSession>;
  /** This node's sockets whose entry changed this tick (and how it is now): replicated once per tick. */
  private readonly dirty = new Map<SocketEntry, "live" | "gone" | PersistedSocket>();
  /** This tick's writes to WebSocket clients: one write per client per tick, buffers shared. */
  private readonly tickWrites = new TickWrites();
  /** What all this hub's client sessions share (see SessionSettings). */
  private readonly sessionSettings: SessionSettings;
  /** Listeners on this hub's client sockets, shared by all of them (`this` is the socket). */
  private readonly clientListeners: ClientListeners;

  constructor(
    readonly name: string,
    private readonly ctx: HubContext,
  ) {
    this.engine = new EngineServer(ctx.engineOptions);
    // The session id names its node, so any node can forward a polling request to the owner.
    const generateId = this.engine.generateId.bind(this.engine);
    this.engine.generateId = (req) => `${String(generateId(req))}.${ctx.nodeId}`;
    this.engine.on("connection", (socket: EngineSocket) => this.onClientConnection(socket));
    this.sessionSettings = {
      counters: this.stats.client,
      connectTimeoutMs: ctx.connectTimeoutMs,
      maxQueuedBytes: ctx.maxClientQueueBytes,
      onOverflow: (slow, queuedBytes) =>
        ctx.log.warn({ hub: name, session: slow.id, queuedBytes }, "client is not reading; disconnected"),
      tickWrites: this.tickWrites,
    };
    this.clientListeners = this.makeClientListeners();
    this.serverSideEmits = new ServerSideEmitRequests(this.links);
    this.executor = new OperationExecutor(
      name,
      ctx.tracing,
      ctx.nodeId,
      this.index,
      this.sessions,
      this.links,
      this.serverSideEmits,
      this.tickWrites,
      this.stats.client,
    );
    this.recovery = new SessionRecovery({
      index: this.index,
      log: ctx.recovery,
      historyFrom: ctx.historyFrom(),
      publishPersisted: (entry, kept) => this.markDirty(entry, kept),
    });
    this.intake = new OperationIntake(
      {
        hub: name,
        nodeId: ctx.nodeId,
        region: ctx.region,
        replicator: ctx.replicator,
        log: ctx.log,
        tracing: ctx.tracing,
        stats: this.stats,
        maxOperationBytes: ctx.maxOperationBytes,
        recoveryLog: this.recovery.log,
      },
      this.executor,
    );
    this.orderedSends = new OrderedSends((stream, seq) => this.reached(stream, seq));
    this.intake.gate.onAdvance = (stream) => this.orderedSends.advanced(stream);
    this.index.onChange = (entry, removed) => {
      if (entry.owner.nodeId === ctx.nodeId) this.markDirty(entry, removed ? "gone" : "live");
    };
  }

  /** Sends every linked app server the current list of the region's nodes. */
  announceNodes(): void {
    for (const link of this.links.values()) this.hello(link);
  }

  private hello(link: AppLink): void {
    link.send({
      type: MessageType.Hello,
      nodeId: this.ctx.nodeId,
      region: this.ctx.region,
      nodes: this.ctx.nodes(),
      limits: { maxOperationBytes: this.ctx.maxOperationBytes },
    });
  }

  /** The app servers serving through this node, for heartbeats (serverCount across nodes, relays). */
  appServerIds(): AppServerId[] {
    if (this.draining) return [];
    const serving = [...this.links.values()].filter((link) => link.isServing);
    return [...new Set(serving.map((link) => link.appServerId))];
  }

  get hasAppServers(): boolean {
    if (this.draining) return false;
    for (const link of this.links.values()) if (link.isServing) return true;
    return false;
  }

  /** Set while the node drains: it takes no new sessions (they are relayed to other nodes). */
  private draining = false;

  /**
   * The node is draining: app servers hear it (and move their operations to another node), and
   * every client session here is closed, so its client reconnects elsewhere and recovers its
   * sockets there (they are kept: "forced close" is a reason after which socket.io recovers).
   */
  drain(): void {
    this.draining = true;
    for (const link of this.links.values()) link.send({ type: MessageType.Draining });
    for (const session of [...this.sessions.values()]) session.close();
  }

  /** Nothing left on this node: no links, no sessions, no view (the hub can be dropped). */
  get isEmpty(): boolean {
    return this.links.size === 0 && this.sessions.size === 0 && this.index.isEmpty && this.recovery.isEmpty;
  }

  addLink(link: AppLink): void {
    this.links.set(link.id, link);
    link.countInto(this.stats.appLink);
    link.onMessage((message, frameBytes) => this.onLinkMessage(link, message, frameBytes));
    link.onClose(() => this.removeLink(link));
    // An app server that reads too slowly: its clients wait (their reads pause) until it catches up.
    link.onCongestion((congested) => {
      for (const session of this.sessions.values()) {
        if (session.linkId === link.id) session.pauseReading(congested);
      }
    });
    this.hello(link);
    this.ctx.log.info({ hub: this.name, link: link.id, appServer: link.appServerId }, "app server linked");
  }

  /** A record another node published: delivered to this node's clients, never published again. */
  onReplicated(record: ReplicatedRecord): void {
    this.intake.fromLog(record);
  }

  /** Another node's socket changed: the view follows (for fetchSockets and friends). */
  onMembership(record: MembershipRecord): void {
    this.recovery.onMembership(record);
    if (record.snapshot && record.disconnectedAt === undefined) {
      this.index.replace(
        record.nsp,
        record.sid,
        record.owner,
        record.rooms,
        record.snapshot,
        record.recovery,
      );
    } else if (this.index.get(record.nsp, record.sid)?.owner.nodeId !== this.ctx.nodeId) {
      // Gone (or kept for recovery): whoever owned it, unless it is one of ours (this node is the
      // authority on those: a socket recovered here must not leave with its old session's record).
      this.index.remove(record.nsp, record.sid);
    }
  }

  /**
   * A node is gone: its sockets leave the view. When it may come back (its lease ran out: paused,
   * cut off) they are kept aside, and `nodeBack` restores them if it is heard again.
   */
  nodeGone(nodeId: NodeId, mayComeBack: boolean): number {
    // Its clients reconnect elsewhere and may recover their sockets there.
    this.recovery.nodeLost([...this.index.all()].filter((entry) => entry.owner.nodeId === nodeId));
    return mayComeBack ? this.index.suspendOwnedBy(nodeId) : this.index.removeOwnedBy(nodeId);
  }

  /** A node is heard again (or for the first time): its suspended sockets of this start return. */
  nodeBack(nodeId: NodeId, incarnation: string): number {
    return this.index.reinstate(nodeId, incarnation);
  }

  /**
   * Drops other nodes' sockets whose node is not alive. A node that starts reads the whole
   * membership log, including sockets of nodes that died before it started and whose heartbeats it
   * never saw (so it never sees them leave). Entries get one lease of grace: a live node's
   * membership can arrive before its first heartbeat.
   */
  sweepOrphans(isAlive: (nodeId: NodeId, incarnation: string) => boolean, graceMs: number): number {
    // In whole seconds, rounded so that an entry counts as seen graceMs ago only once it was.
    const deadline = secondsNow() - Math.ceil(graceMs / 1000);
    // Whether a socket's owner is alive depends on its node and incarnation only: the sockets are
    // visited only when some owner is not (every 5 s, visiting them all cost each node about 8 ms
    // per 100,000 sockets of the region).
    const ownerGone = (owner: { nodeId: NodeId; incarnation: string }) =>
      owner.nodeId !== this.ctx.nodeId && !isAlive(owner.nodeId, owner.incarnation);
    const anyGone = [...this.index.owners()].some(ownerGone);
    const orphans = anyGone
      ? [...this.index.all()].filter((e) => e.seenAt < deadline && ownerGone(e.owner))
      : [];
    this.recovery.nodeLost(orphans);
    for (const entry of orphans) this.index.remove(entry.nsp, entry.sid);
    this.recovery.expire();
    this.intake.gate.prune();
    // Sockets of a node gone for this long are not coming back with it: its clients reconnected.
    this.index.discardSuspended(Date.now() - graceMs * KEEP_SUSPENDED_LEASES);
    return orphans.length;
  }

  close(): void {
    this.engine.close();
    for (const link of this.links.values()) link.close(1001, "broker shutting down");
    this.flushMembership();
    this.intake.close();
    this.orderedSends.close();
  }

  private markDirty(entry: SocketEntry, state: "live" | "gone" | PersistedSocket): void {
    if (this.dirty.size === 0) queueMicrotask(() => this.flushMembership());
    this.dirty.set(entry, state);
  }

  private flushMembership(): void {
    for (const [entry, state] of this.dirty) {
      const { nsp, sid, owner, recovery } = entry;
      const base = { hub: this.name, nsp, sid, owner, recovery };
      if (state === "live") {
        this.ctx.replicator.publishMembership({ ...base, rooms: [...entry.rooms], snapshot: entry.snapshot });
      } else if (state === "gone") {
        this.ctx.replicator.publishMembership({ ...base, rooms: [], snapshot: undefined });
      } else {
        const { rooms, snapshot, disconnectedAt } = state;
        this.ctx.replicator.publishMembership({ ...base, rooms, snapshot, disconnectedAt });
      }
    }
    this.dirty.clear();
  }

  private removeLink(link: AppLink): void {
    this.links.delete(link.id);
    // The app server that owned these sessions is gone: close them so that socket.io-client
    // reconnects and lands on a remaining app server.
    for (const session of this.sessions.values()) if (session.linkId === link.id) session.close();
    this.serverSideEmits.linkGone(link.id);
    this.intake.unlinked(link);
    this.ctx.log.info({ hub: this.name, link: link.id }, "app server unlinked");
  }

  /** New sessions go to the serving app server with the fewest sessions on this node. */
  private pickLink(): AppLink | undefined {
    if (this.draining) return undefined;
    let best: AppLink | undefined;
    for (const link of this.links.values()) {
      if (link.isServing && (!best || link.sessionCount < best.sessionCount)) best = link;
    }
    return best;
  }

  private onClientConnection(socket: EngineSocket): void {
    const link = this.pickLink();
    if (!link) {
      socket.close();
      return;
    }
    this.stats.connectionOpened(socket.transport.name);
    const session = new ClientSession(socket, link, this.sessionSettings);
    this.sessions.set(session.id, session);
    this.ctx.heartbeats.watch(socket);
    link.sessionCount++;
    link.send({ type: MessageType.SessionOpen, sessionId: session.id, handshake: session.handshake() });
    // The hub's listeners, shared by all its sessions (each finds its session by the socket's id):
    // closures per session would cost every idle client a few hundred bytes.
    socket.on("message", this.clientListeners.message);
    socket.on("flush", this.clientListeners.flush);
    socket.on("upgrade", this.clientListeners.upgrade);
    // engine.io emits "close" once (Socket#onClose runs once): no `once` wrapper needed.
    socket.on("close", this.clientListeners.close);
    // Its listeners are in place: what engine.io and ws made for it can shrink (same behaviour).
    trimOpenSession(socket);
  }

  /** The listeners this hub puts on each of its client sockets (engine.io calls them with the socket as `this`). */
  private makeClientListeners(): ClientListeners {
    // Each finds its session by the socket's id, while the session is open.
    const sessionOf = (socket: EngineSocket) => this.sessions.get(sessionIdOf(socket));
    const onMessage = (session: ClientSession, data: string | Buffer | undefined) =>
      this.onClientMessage(session, data);
    const onClose = (session: ClientSession, reason: string, description?: unknown) =>
      this.onClientClose(session, reason, description);
    return {
      message(data) {
        const session = sessionOf(this);
        if (session) onMessage(session, data);
      },
      flush(buffer) {
        sessionOf(this)?.flushed(buffer);
      },
      upgrade(transport) {
        const session = sessionOf(this);
        // The WebSocket's upgrade request and response are not needed any more either.
        if (session) {
          releaseHandshakeRequest(this);
          trimOpenSession(this);
        }
        session?.link.send({
          type: MessageType.SessionUpgraded,
          sessionId: session.id,
          transport: transport.name,
        });
      },
      close(reason, description) {
        const session = sessionOf(this);
        if (session) onClose(session, reason, description);
      },
    };
  }

  private onClientMessage(session: ClientSession, data: string | Buffer | undefined): void {
    // An Engine.IO message without data ("4") carries no Socket.IO packet: socket.io closes such
    // a client ("parse error"), and SessionMessage has no way to say "no data" (it went out with
    // its data field missing, a frame the app server could not read).
    if (data === undefined) return session.close();
    const client = this.stats.client;
    client.packetsIn++;
    client.bytesIn += typeof data === "string" ? Buffer.byteLength(data) : data.length;
    if (!session.owesNoAcks && session.acks.offer(data)) return;
    // Socket.IO packets have no header slot: a client's message starts its trace here. Only text
    // parts: a binary packet's attachments follow its text part, and the SDK dispatches them in
    // that part's context.
    const hop =
      typeof data === "string"
        ? this.ctx.tracing.hop(`receive ${this.name}`, SpanKind.CONSUMER, undefined, () => ({
            ...socketIoAttributes(this.name, MessagingOperation.receive, "message"),
            [MessagingAttribute.bodySize]: Buffer.byteLength(data),
            "socket.io.transport": session.engineSocket.transport.name,
          }))
        : undefined;
    session.link.send({ type: MessageType.SessionMessage, sessionId: session.id, data, trace: hop?.trace });
    hop?.span?.end();
  }

  private onClientClose(session: ClientSession, reason: string, description?: unknown): void {
    const link = session.link;
    this.sessions.delete(session.id);
    this.orderedSends.forget(session);
    link.sessionCount--;
    this.recovery.sessionLost(session, reason);
    link.send({
      type: MessageType.SessionClosed,
      sessionId: session.id,
      reason,
      description: describe(description),
    });
  }

  private onLinkMessage(link: AppLink, message: Message, frameBytes: number): void {
    switch (message.type) {
      case MessageType.SessionSend: {
        const session = this.ownedSession(link, message.sessionId);
        if (!session) return;
        // Framed here too, so that it joins the client's run of the tick (one write for everything).
        const packet = preparePacket(message.data, message.flags, true);
        this.orderedSends.submit(session, streamOf(link), message.after, () => {
          // What the app wrote inside a trace (an ack to a traced message) ends that trace's chain
          // here, when it is written (after whatever it waited for).
          const hop =
            message.trace &&
            this.ctx.tracing.hop(`send ${this.name}`, SpanKind.PRODUCER, message.trace, () => ({
              ...socketIoAttributes(this.name, MessagingOperation.send, "send"),
              [MessagingAttribute.bodySize]: packet.bytes,
            }));
          const written = session.write(packet);
          hop?.span?.setAttribute("regio.written", written).end();
        });
        return;
      }
      case MessageType.SessionClose: {
        const session = this.ownedSession(link, message.sessionId);
        // After whatever the session still waits to write.
        if (session) this.orderedSends.submit(session, streamOf(link), undefined, () => session.close());
        return;
      }
      case MessageType.Join: {
        const session = this.ownedSession(link, message.sessionId);
        if (!session) return;
        // A socket of another session (another app server's) is not this one's to join: the joining
        // link would choose the rooms of a client it does not serve.
        if ((this.index.get(message.nsp, message.sid)?.owner.sessionId ?? session.id) !== session.id) return;
        const owner = this.ownerFor(session, link);
        // Bounded again here: what enters the view must fit a membership record, whatever the SDK sent.
        const snapshot =
          message.snapshot &&
          shareSessionHandshake(
            boundedSnapshot(message.snapshot),
            { handshake: session.handshake(), query: session.query },
            message.sid,
          );
        this.index.join(message.nsp, message.sid, owner, message.rooms, snapshot, message.recovery);
        session.addSocket(message.nsp, message.sid);
        const entry = this.index.get(message.nsp, message.sid);
        if (entry) this.recovery.announced(entry);
        return;
      }
      case MessageType.Leave:
        if (this.ownsSocket(link, message.nsp, message.sid))
          this.index.leave(message.nsp, message.sid, message.rooms);
        return;
      case MessageType.LeaveAll:
        if (this.ownsSocket(link, message.nsp, message.sid)) this.index.remove(message.nsp, message.sid);
        return;
      case MessageType.SocketData:
        if (this.ownsSocket(link, message.nsp, message.sid)) {
          const { maxDepth, dataBytes } = DEFAULT_SNAPSHOT_BOUNDS;
          const data = boundedValue(message.data, maxDepth, dataBytes);
          this.index.setData(message.nsp, message.sid, sharedIfEmpty(data));
        }
        return;
      case MessageType.Broadcast:
      case MessageType.BroadcastWithAck:
      case MessageType.SocketsJoin:
      case MessageType.SocketsLeave:
      case MessageType.DisconnectSockets:
      case MessageType.ServerSideEmit:
        this.intake.fromLink(link, message, frameBytes);
        return;
      case MessageType.RestoreSession: {
        const session = this.ownedSession(link, message.sessionId);
        const owner = session && this.ownerFor(session, link);
        const socket = session && owner ? this.recovery.restore(session, owner, message) : undefined;
        link.send({ type: MessageType.RestoreSessionResult, requestId: message.requestId, socket });
        return;
      }
      case MessageType.FetchSockets: {
        const answered = link.send({
          type: MessageType.FetchSocketsResult,
          requestId: message.requestId,
          sockets: this.executor.fetchSockets(message.target, link.id),
        });
        // Every request gets an answer, even one whose result could not be sent.
        if (!answered) {
          link.sendError(new RegioError(ErrorCode.BadFrame, "the result could not be encoded"), {
            requestId: message.requestId,
          });
        }
        return;
      }
      case MessageType.ServerCount:
        link.send({
          type: MessageType.ServerCountResult,
          requestId: message.requestId,
          count: this.serverCount(),
        });
        return;
      case MessageType.ServerSideEmitResponse:
        this.serverSideEmits.respond(link.id, message.requestId, message.response);
        return;
      default:
        link.sendError(
          new RegioError(
            ErrorCode.UnexpectedMessage,
            `message type ${message.type} is not accepted from an app server`,
          ),
        );
    }
  }

  private serverCount(): number {
    return new Set([...this.appServerIds(), ...this.ctx.remoteAppServers(this.name)]).size;
  }

  /**
   * Whether this node delivered `stream`'s operations up to `seq`. A stream it never saw: when the
   * operation was numbered before the app server's link here was up (its Ready says how far it
   * had numbered), it reached every node long ago or never will; one numbered later will come.
   */
  private reached(stream: string, seq: number): boolean {
    const position = this.intake.gate.position(stream);
    if (position !== undefined) return position >= seq;
    for (const link of this.links.values()) if (streamOf(link) === stream) return seq <= link.lastSeqAtReady;
    return true;
  }

  /** A socket of `session`, served by `link`, is owned so. */
  private ownerFor(session: ClientSession, link: AppLink): SocketOwner {
    // One object for all the session's sockets (a session's link never changes).
    return (session.owner ??= {
      region: this.ctx.region,
      nodeId: this.ctx.nodeId,
      incarnation: this.ctx.incarnation,
      sessionId: session.id,
      linkId: link.id,
    });
  }

  private ownedSession(link: AppLink, sessionId: SessionId): ClientSession | undefined {
    const session = this.sessions.get(sessionId);
    return session?.linkId === link.id ? session : undefined;
  }

  private ownsSocket(link: AppLink, nsp: string, sid: SocketId): boolean {
    return this.index.get(nsp, sid)?.owner.linkId === link.id;
  }
}

interface ClientListeners {
  message(this: EngineSocket, data: string | Buffer | undefined): void;
  flush(this: EngineSocket, buffer: unknown[]): void;
  upgrade(this: EngineSocket, transport: { name: string }): void;
  close(this: EngineSocket, reason: string, description?: unknown): void;
}

function streamOf(link: AppLink): string {
  return link.stream ?? link.appServerId;
}

function describe(description: unknown): string | undefined {
  if (description === undefined || description === null) return undefined;
  if (description instanceof Error) return description.message;
  if (typeof description === "object" && "description" in description) return String(description.description);
  return String(description);
}
