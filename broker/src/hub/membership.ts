import type { NodeId, Recovery, SessionId, SocketId, SocketSnapshot, Target } from "@regio/protocol";
import { SocketRooms } from "./socket-rooms.ts";

/** Where a Socket.IO socket lives: the node that holds its client session, and the app server link that owns it. */
export interface SocketOwner {
  region: string;
  nodeId: NodeId;
  incarnation: string;
  sessionId: SessionId;
  linkId: string;
}

export interface SocketEntry {
  nsp: string;
  sid: SocketId;
  owner: SocketOwner;
  rooms: SocketRooms;
  snapshot: SocketSnapshot | undefined;
  /** Set when the socket may be recovered after its session is lost (connection state recovery). */
  recovery?: Recovery;
  /**
   * A recovered socket whose client came back to a node that was behind the one it left: per stream
   * (its offset tag), the last seq the client already received. Those events are not written again.
   */
  received?: Map<string, number>;
  /** When this node first learned of the socket (see secondsNow). */
  seenAt: number;
}

/**
 * Whole seconds on the process's monotonic clock: a small integer, held in the entry itself, where a
 * millisecond timestamp is a boxed number of 16 bytes per socket of the view.
 */
export function secondsNow(): number {
  return Math.floor(performance.now() / 1000);
}

/**
 * The room membership view of one hub: namespace -> room -> socket ids, and each socket's rooms and
 * owner. Answers "which sockets does this target reach" for broadcasts and cluster-wide operations.
 *
 * Every socket is always a member of the room named by its own id (socket.io does the same), so
 * `to(socketId)` needs no special case.
 */
export class MembershipIndex {
  private readonly namespaces = new Map<string, NamespaceView>();
  /** Sockets that may be recovered, by the private session id their client would present. */
  private readonly recoverable = new Map<string, SocketEntry>();
  /**
   * Sockets of nodes whose lease ran out, by node id: out of every room and target, kept aside in
   * case the node is heard again (it was paused or cut off, not dead) until a bound.
   */
  private readonly suspended = new Map<string, { since: number; entries: SocketEntry[] }>();
  /**
   * How many sockets in the view each node incarnation owns (node id -> incarnation -> count), so
   * that a sweep for sockets of nodes that are gone asks about each owner once instead of visiting
   * every socket (100,000 of them every few seconds on each node of a region: see `owners`).
   */
  private readonly ownerCounts = new Map<NodeId, Map<string, number>>();
  /** Counts changes to who is in which room (joins, leaves, sockets gone or suspended), for caches of `select`. */
  version = 0;
  /** Told of every change to a socket's entry (`removed` once it is gone), e.g. to replicate it. */
  onChange: (entry: SocketEntry, removed: boolean) => void = () => {};

  join(
    nsp: string,
    sid: SocketId,
    owner: SocketOwner,
    rooms: Iterable<string>,
    snapshot?: SocketSnapshot,
    recovery?: Recovery,
  ): void {
    this.version++;
    const view = this.view(nsp);
    let entry = view.sockets.get(sid);
    if (!entry) {
      entry = { nsp, sid, owner, rooms: new SocketRooms(), snapshot, seenAt: secondsNow() };
      view.sockets.set(sid, entry);
      this.countOwner(entry.owner, 1);
      view.addToRoom(sid, entry);
    }
    if (snapshot) entry.snapshot = snapshot;
    if (recovery) {
      entry.recovery = recovery;
      this.recoverable.set(recovery.pid, entry);
    }
    for (const room of rooms) view.addToRoom(room, entry);
    this.onChange(entry, false);
  }

  /** Sets a socket's entry to exactly what another node says it is. */
  replace(
    nsp: string,
    sid: SocketId,
    owner: SocketOwner,
    rooms: Iterable<string>,
    snapshot?: SocketSnapshot,
    recovery?: Recovery,
  ): void {
    const current = this.get(nsp, sid);
    if (current && current.owner.nodeId !== owner.nodeId) this.remove(nsp, sid);
    const wanted = new Set(rooms);
    const stale = [...(this.get(nsp, sid)?.rooms ?? [])].filter((room) => !wanted.has(room));
    if (stale.length > 0) this.leave(nsp, sid, stale);
    this.join(nsp, sid, owner, wanted, snapshot, recovery);
  }

  /** Removes every socket a node owns (the node is gone); returns how many. */
  removeOwnedBy(nodeId: NodeId): number {
    const gone = [...this.all()].filter((entry) => entry.owner.nodeId === nodeId);
    for (const entry of gone) this.remove(entry.nsp, entry.sid);
    return gone.length;
  }

  /**
   * Takes every socket of a node whose lease ran out out of the view (rooms, targets, fetches),
   * keeping them aside; returns how many. Not reported to `onChange`: they are other nodes' sockets.
   */
  suspendOwnedBy(nodeId: NodeId): number {
    const entries = [...this.all()].filter((entry) => entry.owner.nodeId === nodeId);
    this.version++;
    for (const entry of entries) {
      const view = this.namespaces.get(entry.nsp)!;
      view.detach(entry);
      this.countOwner(entry.owner, -1);
      if (view.sockets.size === 0) this.namespaces.delete(entry.nsp);
    }
    if (entries.length > 0) {
      const held = this.suspended.get(nodeId);
      if (held) held.entries.push(...entries);
      else this.suspended.set(nodeId, { since: Date.now(), entries });
    }
    return entries.length;
  }

  /**
   * The node is heard again: its suspended sockets of this incarnation return to the view as they
   * were (rooms and all), those of another (an earlier start) are dropped; returns how many returned.
   * A socket the node announced again meanwhile keeps its newer entry.
   */
  reinstate(nodeId: NodeId, incarnation: string): number {
    const held = this.suspended.get(nodeId);
    if (!held) return 0;
    this.version++;
    this.suspended.delete(nodeId);
    let restored = 0;
    for (const entry of held.entries) {
      if (entry.owner.incarnation !== incarnation || this.get(entry.nsp, entry.sid)) continue;
      this.view(entry.nsp).attach(entry);
      this.countOwner(entry.owner, 1);
      restored++;
    }
    return restored;
  }

  /** Forgets sockets suspended before `before` (ms): their node did not come back in time. */
  discardSuspended(before: number): number {
    let discarded = 0;
    for (const [nodeId, held] of this.suspended) {
      if (held.since >= before) continue;
      this.suspended.delete(nodeId);
      discarded += held.entries.length;
    }
    return discarded;
  }

  leave(nsp: string, sid: SocketId, rooms: Iterable<string>): void {
    const view = this.namespaces.get(nsp);
    const entry = view?.sockets.get(sid);
    if (!view || !entry) return;
    this.version++;
    for (const room of rooms) if (room !== sid) view.removeFromRoom(room, entry);
    this.onChange(entry, false);
  }

  remove(nsp: string, sid: SocketId): SocketEntry | undefined {
    const view = this.namespaces.get(nsp);
    const entry = view?.sockets.get(sid);
    if (!view || !entry) {
      this.forgetSuspended(nsp, sid);
      return undefined;
    }
    this.version++;
    for (const room of [...entry.rooms]) view.removeFromRoom(room, entry);
    view.sockets.delete(sid);
    this.countOwner(entry.owner, -1);
    if (entry.recovery && this.recoverable.get(entry.recovery.pid) === entry)
      this.recoverable.delete(entry.recovery.pid);
    if (view.sockets.size === 0) this.namespaces.delete(nsp);
    this.onChange(entry, true);
    return entry;
  }

  setData(nsp: string, sid: SocketId, data: unknown): void {
    const entry = this.namespaces.get(nsp)?.sockets.get(sid);
    if (!entry?.snapshot) return;
    entry.snapshot = { ...entry.snapshot, data };
    this.onChange(entry, false);
  }

  /** The live socket whose client would present `pid` to recover it. */
  byPid(pid: string): SocketEntry | undefined {
    const entry = this.recoverable.get(pid);
    return entry && this.get(entry.nsp, entry.sid) === entry ? entry : undefined;
  }

  get(nsp: string, sid: SocketId): SocketEntry | undefined {
    return this.namespaces.get(nsp)?.sockets.get(sid);
  }

  /** The sockets a target reaches, each once: in any of `rooms` (all when empty) and in none of `except`. */
  *select(target: Target): Generator<SocketEntry> {
    const view = this.namespaces.get(target.nsp);
    if (!view) return;
    const excluded = new Set<string>();
    for (const room of target.except) for (const [sid] of view.members(room)) excluded.add(sid);
    if (target.rooms.length === 0) {
      for (const [sid, entry] of view.sockets) if (!excluded.has(sid)) yield entry;
      return;
    }
    // `excluded` doubles as the set of sockets already yielded: a socket in two target rooms is reached once.
    for (const room of target.rooms) {
      for (const [sid, entry] of view.members(room)) {
        if (excluded.has(sid)) continue;
        excluded.add(sid);
        yield entry;
      }
    }
  }

  /** No socket in the view, and none kept aside for a node that may come back. */
  get isEmpty(): boolean {
    return this.namespaces.size === 0 && this.suspended.size === 0;
  }

  /** The node incarnations that own sockets in the view (each once, whatever the namespace). */
  *owners(): Generator<{ nodeId: NodeId; incarnation: string }> {
    for (const [nodeId, incarnations] of this.ownerCounts)
      for (const incarnation of incarnations.keys()) yield { nodeId, incarnation };
  }

  /** Every socket of the hub, in every namespace. */
  *all(): Generator<SocketEntry> {
    for (const view of this.namespaces.values()) yield* view.sockets.values();
  }

  private countOwner(owner: SocketOwner, delta: 1 | -1): void {
    let incarnations = this.ownerCounts.get(owner.nodeId);
    if (!incarnations) this.ownerCounts.set(owner.nodeId, (incarnations = new Map()));
    const count = (incarnations.get(owner.incarnation) ?? 0) + delta;
    if (count > 0) incarnations.set(owner.incarnation, count);
    else {
      incarnations.delete(owner.incarnation);
      if (incarnations.size === 0) this.ownerCounts.delete(owner.nodeId);
    }
  }

  /** A socket that left while its node was suspended must not come back with it. */
  private forgetSuspended(nsp: string, sid: SocketId): void {
    for (const held of this.suspended.values()) {
      const i = held.entries.findIndex((entry) => entry.nsp === nsp && entry.sid === sid);
      if (i >= 0) held.entries.splice(i, 1);
    }
  }

  private view(nsp: string): NamespaceView {
    let view = this.namespaces.get(nsp);
    if (!view) this.namespaces.set(nsp, (view = new NamespaceView()));
    return view;
  }

  roomSize(nsp: string, room: string): number {
    return this.namespaces.get(nsp)?.roomSize(room) ?? 0;
  }
}

/**
 * One namespace's sockets and rooms. A socket's own room (named by its id) is not listed in `rooms`:
 * its one member is the socket of that id (while the room is in its rooms), found in `sockets`.
 * A list of one per socket would cost every client a Map (about 270 bytes). Other sockets that
 * join a room named by a socket's id are listed as in any room.
 */
class NamespaceView {
  readonly sockets = new Map<string, SocketEntry>();
  /** Members of each room, but for each socket's own room (see `members`). */
  private readonly rooms = new Map<string, Map<string, SocketEntry>>();

  /** The members of `room`, each once: those listed, and the socket whose own room it is. */
  *members(room: string): Generator<[string, SocketEntry]> {
    const own = this.ownMember(room);
    if (own) yield [room, own];
    const listed = this.rooms.get(room);
    if (listed) yield* listed;
  }

  roomSize(room: string): number {
    return (this.rooms.get(room)?.size ?? 0) + (this.ownMember(room) ? 1 : 0);
  }

  addToRoom(room: string, entry: SocketEntry): void {
    if (room === entry.sid) {
      // The entry's own string of the id (the room's name came decoded on its own).
      entry.rooms.add(entry.sid);
      return;
    }
    entry.rooms.add(room);
    let members = this.rooms.get(room);
    if (!members) this.rooms.set(room, (members = new Map()));
    members.set(entry.sid, entry);
  }

  removeFromRoom(room: string, entry: SocketEntry): void {
    this.unlist(room, entry.sid);
    entry.rooms.delete(room);
  }

  /** Out of the view, its rooms remembered in the entry (to attach it again as it was). */
  detach(entry: SocketEntry): void {
    for (const room of entry.rooms) this.unlist(room, entry.sid);
    this.sockets.delete(entry.sid);
  }

  attach(entry: SocketEntry): void {
    this.sockets.set(entry.sid, entry);
    for (const room of [...entry.rooms]) this.addToRoom(room, entry);
  }

  private ownMember(room: string): SocketEntry | undefined {
    const entry = this.sockets.get(room);
    return entry?.rooms.has(room) ? entry : undefined;
  }

  private unlist(room: string, sid: SocketId): void {
    if (room === sid) return;
    const members = this.rooms.get(room);
    if (members?.delete(sid) && members.size === 0) this.rooms.delete(room);
  }
}
