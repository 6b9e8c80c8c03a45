import type { MembershipRecord } from "../replication/replicator.ts";
import type { RestoreSession, RestoreSessionResult } from "@regio/protocol";
import type { ClientSession } from "./client-session.ts";
import type { MembershipIndex, SocketEntry, SocketOwner } from "./membership.ts";
import { PersistedSessions, type PersistedSocket } from "./persisted-sessions.ts";
import { RecoveryLog, type RecoveryLogOptions } from "./recovery-log.ts";
import { parseOffset } from "./recovery-offset.ts";

/**
 * engine.io's reasons for a session's end after which socket.io recovers the socket (its
 * RECOVERABLE_DISCONNECT_REASONS): the client did not leave, its connection did.
 */
const RECOVERABLE_REASONS = new Set([
  "transport error",
  "transport close",
  "forced close",
  "ping timeout",
  "server shutting down",
  "forced server close",
]);

export interface SessionRecoveryContext {
  index: MembershipIndex;
  log: RecoveryLogOptions;
  /** The time from which this node has read every event of the replicated log. */
  historyFrom: number;
  /** Replicates that one of this node's sockets (its entry, as it was) is kept for recovery. */
  publishPersisted(entry: SocketEntry, kept: PersistedSocket): void;
}

/**
 * Connection state recovery for one hub on this node, across nodes and regions. A socket whose
 * session is lost (its node died, its client's network dropped, its node drained) is kept, with its
 * rooms and data, in every node's replicated view; its recoverable events are in every node's
 * recovery log. The client comes back to any node presenting its private session id and the offset
 * of the last event it got: that node gives it back its socket (id, rooms, data) and writes it every
 * event it missed, in order, before anything newer.
 */
export class SessionRecovery {
  readonly log: RecoveryLog;
  readonly persisted = new PersistedSessions();

  constructor(private readonly ctx: SessionRecoveryContext) {
    this.log = new RecoveryLog(ctx.log);
    this.log.completeFrom(ctx.historyFrom);
  }

  get isEmpty(): boolean {
    return this.persisted.size === 0 && this.log.isEmpty;
  }

  /**
   * One of this node's sessions ended. Its recoverable sockets are kept (and replicated as kept)
   * when the reason is one after which socket.io recovers; the others leave the view.
   */
  sessionLost(session: ClientSession, reason: string): void {
    const now = Date.now();
    for (const [nsp, sid] of session.sockets) {
      const entry = this.ctx.index.get(nsp, sid);
      // Recovered elsewhere meanwhile (its client came back before this node saw it go): not ours now.
      if (entry?.owner.sessionId !== session.id) continue;
      const keep = entry.recovery !== undefined && RECOVERABLE_REASONS.has(reason);
      // Taken as it is before it leaves the view (leaving empties its rooms).
      const kept = keep ? persistedFrom(entry, now) : undefined;
      this.ctx.index.remove(nsp, sid);
      if (!kept) continue;
      this.persisted.persist(kept);
      this.ctx.publishPersisted(entry, kept);
    }
  }

  /** Another node's sockets that it cannot serve any more (it is gone): kept for recovery here. */
  nodeLost(entries: Iterable<SocketEntry>): void {
    const now = Date.now();
    for (const entry of entries) if (entry.recovery) this.persisted.persist(persistedFrom(entry, now));
  }

  /** What a membership record says about recovery: kept (with its time), or live again / gone. */
  onMembership(record: MembershipRecord): void {
    if (record.disconnectedAt !== undefined && record.recovery) {
      this.persisted.persist({
        nsp: record.nsp,
        sid: record.sid,
        rooms: record.rooms,
        snapshot: record.snapshot,
        recovery: record.recovery,
        disconnectedAt: record.disconnectedAt,
      });
    } else {
      this.persisted.forget(record.nsp, record.sid, record.recovery?.pid);
    }
  }

  /** The socket is live again (announced by its app server). */
  announced(entry: SocketEntry): void {
    this.persisted.forget(entry.nsp, entry.sid, entry.recovery?.pid);
  }

  /**
   * A client came back on `session` (of `owner`'s link): its socket is registered here as it was,
   * before any newer event can reach it, and what it missed is written to it, in order. Undefined
   * (and nothing changed) when it cannot be recovered here: unknown, past its window, or an offset
   * older than this node's recovery log.
   */
  restore(
    session: ClientSession,
    owner: SocketOwner,
    request: RestoreSession,
  ): RestoreSessionResult["socket"] | undefined {
    const offset = parseOffset(request.offset);
    if (!offset) return undefined;
    const now = Date.now();
    const socket =
      this.persisted.take(request.pid, request.nsp, now, request.windowMs) ??
      this.takeOver(request.pid, request.nsp, session, now);
    if (!socket) return undefined;
    const missed = this.log.missedAfter(offset, request.nsp, socket.rooms);
    if (!missed) return undefined;
    this.ctx.index.join(socket.nsp, socket.sid, owner, socket.rooms, socket.snapshot, socket.recovery);
    // This node may be behind the one the client left: what the client got there is not sent again.
    const entry = this.ctx.index.get(socket.nsp, socket.sid);
    if (entry) entry.received = new Map(offset.positions);
    session.addSocket(socket.nsp, socket.sid);
    // Written once the app server's CONNECT for the socket is (and dropped if the session ends first).
    session.holdUntilConnected(socket.nsp);
    for (const packet of missed) session.write(packet);
    return { sid: socket.sid, rooms: socket.rooms, data: socket.snapshot?.data };
  }

  /**
   * A socket still in the view under its old session, which its node has not seen end yet (the
   * client's network dropped, or its node died and the lease has not run out): the client, coming
   * back with the socket's private id, shows that session is over. The socket moves here.
   */
  private takeOver(
    pid: string,
    nsp: string,
    session: ClientSession,
    now: number,
  ): PersistedSocket | undefined {
    const entry = this.ctx.index.byPid(pid);
    if (!entry || entry.nsp !== nsp || entry.owner.sessionId === session.id) return undefined;
    const socket = persistedFrom(entry, now);
    this.ctx.index.remove(entry.nsp, entry.sid);
    return socket;
  }

  /** Drops what is past its window. */
  expire(now = Date.now()): void {
    this.persisted.expire(now);
    this.log.prune(now);
  }
}

function persistedFrom(entry: SocketEntry, at: number): PersistedSocket {
  return {
    nsp: entry.nsp,
    sid: entry.sid,
    rooms: [...entry.rooms],
    snapshot: entry.snapshot,
    recovery: entry.recovery!,
    disconnectedAt: at,
  };
}
