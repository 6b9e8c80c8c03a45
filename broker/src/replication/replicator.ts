import type {
  AppServerId,
  NodeId,
  Recovery,
  SessionId,
  SocketId,
  StreamId,
  TraceContext,
} from "@regio/protocol";
import { ErrorCode, RegioError } from "@regio/protocol";
import type {
  Broadcast,
  DisconnectSockets,
  ServerSideEmit,
  SocketSnapshot,
  SocketsJoin,
  SocketsLeave,
} from "@regio/protocol";

/** Operations that cross nodes: what an app server asked one node to do for the whole hub. */
export type ReplicatedOperation = Broadcast | SocketsJoin | SocketsLeave | DisconnectSockets | ServerSideEmit;

export interface Origin {
  region: string;
  nodeId: NodeId;
}

/**
 * One record on the events stream. Its identity is born in the SDK (`stream`, `seq`) and never
 * changes, so receivers can drop duplicates and restore order; `origin` says which node published it.
 */
export interface ReplicatedRecord {
  hub: string;
  origin: Origin;
  /** The app server process whose operation this is (its stream of numbered operations). */
  stream: StreamId;
  seq: number;
  /** The operation as the app server sent it (its own `trace` is not what travels: see `trace`). */
  operation: ReplicatedOperation;
  /**
   * Published before this node began serving (it read it as part of the recovery window at start):
   * kept for sessions that come back, delivered to no one.
   */
  history?: boolean;
  /** When its region's log took it (the record's timestamp), ms; set when read from a log. */
  publishedAt?: number;
  /**
   * W3C trace context of the publishing node's hop (Kafka: the `traceparent`/`tracestate` headers),
   * which receivers continue; absent when the operation is not traced.
   */
  trace?: TraceContext;
  /** Where a receiver read it from (Kafka); absent on the in-process bus. */
  via?: { topic: string; partition: number; offset: string };
}

/** A socket's place in the global view; `snapshot` undefined means the socket is gone. */
export interface MembershipRecord {
  hub: string;
  nsp: string;
  sid: SocketId;
  /** `incarnation`: which start of the node; a node restarted under the same id gets a new one. */
  owner: { region: string; nodeId: NodeId; incarnation: string; sessionId: SessionId; linkId: string };
  rooms: string[];
  snapshot: SocketSnapshot | undefined;
  /** The socket may be recovered after its session is lost (connection state recovery). */
  recovery?: Recovery;
  /** Set when the socket's session was lost and the socket is kept for recovery (with its snapshot). */
  disconnectedAt?: number;
}

/** A node saying it is alive, and where app servers and other nodes reach it. */
export interface NodeHeartbeat {
  nodeId: NodeId;
  /** Random per start of the node: sockets of an earlier start of the same node id are gone. */
  incarnation: string;
  region: string;
  url: string;
  /** App server ids linked to this node, by hub (serverCount() counts them across nodes). */
  appServers: Record<string, AppServerId[]>;
  sessions: number;
  /** Sender's clock, ms; a heartbeat older than the lease means the node is gone. */
  at: number;
  /** true on a graceful shutdown: the node is gone now, no need to wait for the lease. */
  leaving?: boolean;
}

export interface ReplicationHandlers {
  record(record: ReplicatedRecord): void;
  membership(record: MembershipRecord): void;
  heartbeat(heartbeat: NodeHeartbeat): void;
}

/** How this node reads another region. */
export interface PeerStatus {
  /** Reading it now (its Kafka, or its mirrored topics, answer). */
  reachable: boolean;
  /** Age of the newest record read from it, ms; its heartbeats keep this small while it is well. */
  lagMs?: number;
  detail?: string;
}

export interface ReplicatorStatus {
  /**
   * This node's own readiness: it can publish to its own region (its buffer drains) and reads its
   * own region's view (caught up). Another region's outage never makes it false (see `peers`).
   */
  ready: boolean;
  /** Bytes accepted but not yet durably published. */
  bufferedBytes: number;
  /** Why it is not ready, or what it does; never contradicts `ready`. */
  detail: string;
  /** Every other region, by name. */
  peers: Record<string, PeerStatus>;
}

/**
 * A record refused for now (retriable): the buffer is full, or earlier records of the same stream
 * were refused and must come first. `resumeFrom` is the seq the stream waits for, the lowest it
 * refused that has not come again (it took every record of the stream below it, and takes none
 * above it until that one comes); undefined when it waits for none (the refused record was a copy
 * of one accepted already).
 */
export class RefusedForNow extends RegioError {
  constructor(
    message: string,
    readonly resumeFrom: number | undefined,
  ) {
    super(ErrorCode.LinkDown, message, { retriable: true });
    this.name = "RefusedForNow";
  }
}

/**
 * The seam between a broker node and the other nodes of every region.
 *
 * Guarantees an implementation must give (test/replication/contract.ts checks each, for every
 * implementation):
 * - `publish` resolves only once the record is accepted for good: delivered to every other node
 *   (in-process) or durably appended to the node's region log (Kafka). While that cannot happen the
 *   record is kept in a bounded buffer (bytes) and retried; when the buffer is full `publish`
 *   rejects, so the caller keeps the record (the SDK re-sends it): nothing is dropped silently.
 *   A rejection that holds back the stream's later records too says where the stream resumes
 *   (RefusedForNow), so that the caller re-sends from there, not what was accepted meanwhile.
 * - Every other node, in every region, receives each record at least once, and the records of one
 *   app server in the order they were published by one node.
 * - Membership records and heartbeats reach every other node too (latest value per socket / node).
 * - A node never receives its own events, membership records or heartbeats (the one-hop rule: what a
 *   node reads is delivered locally and never published again).
 * - `start` resolves once the node has read its own region's current membership view and its
 *   subscriptions are in place; it never rejects because a cluster is down (it retries, and
 *   `status()` says why it is not ready yet). Other regions are read from the moment the node
 *   started: a record another region publishes after that is read, also when that region was
 *   unreachable at the start and comes back later. Peers' views are awaited a bounded time only.
 * - `status().ready` depends on the node's own region only; other regions appear in `peers`.
 */
/** Failures and re-connections so far, per region (this node's own and every other), for metrics. */
export type ReplicationCounters = Record<string, { errors: number; reconnects: number }>;

export interface Replicator {
  start(handlers: ReplicationHandlers): Promise<void>;
  publish(record: ReplicatedRecord): Promise<void>;
  publishMembership(record: MembershipRecord): void;
  publishHeartbeat(heartbeat: NodeHeartbeat): void;
  status(): ReplicatorStatus;
  /**
   * The time from which this node has read every event (before it served, as history); events of
   * the recovery window before its start are among them. Default: when it started.
   */
  historyFrom?(): number;
  /** Counts of failures and re-connections (an implementation with none has no such method). */
  counters?(): ReplicationCounters;
  /**
   * The app server of `stream` unlinked from this node: forget what was refused of its stream (an
   * implementation that refuses for order, RefusedForNow). It comes back, if ever, with every
   * operation it has not had acknowledged, lowest first; the ones another node took meanwhile
   * would never come again, and the stream would wait for them for good.
   */
  forgetRefused?(stream: StreamId): void;
  close(): Promise<void>;
}
