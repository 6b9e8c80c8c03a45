import type { SocketSnapshot, Target } from "@regio/protocol";

/** Where a Socket.IO socket lives: the node that holds its client session, and the app server link that owns it. */
export interface SocketOwner {
  region: string;
  nodeId: string;
  incarnation: string;
  sessionId: string;
  linkId: string;
}

export interface SocketEntry {
  nsp: string;
  sid: string;
  owner: SocketOwner;
  rooms: Set<string>;
  snapshot: SocketSnapshot | undefined;
  /** When this node first learned of the socket (ms). */
  seenAt: number;
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
  /** Told of every change to a socket's entry (`removed` once it is gone), e.g. to replicate it. */
  onChange: (entry: SocketEntry, removed: boolean) => void = () => {};

  join(
    nsp: string,
    sid: string,
    owner: SocketOwner,
    rooms: Iterable<string>,
    snapshot?: SocketSnapshot,
  ): void {
    const view = this.view(nsp);
    let entry = view.sockets.get(sid);
    if (!entry) {
      entry = { nsp, sid, owner, rooms: new Set(), snapshot, seenAt: Date.now() };
      view.sockets.set(sid, entry);
      view.addToRoom(sid, entry);
    }
    if (snapshot) entry.snapshot = snapshot;
    for (const room of rooms) view.addToRoom(room, entry);
    this.onChange(entry, false);
  }

  /** Sets a socket's entry to exactly what another node says it is. */
  replace(
    nsp: string,
    sid: string,
    owner: SocketOwner,
    rooms: Iterable<string>,
    snapshot?: SocketSnapshot,
  ): void {
    const current = this.get(nsp, sid);
    if (current && current.owner.nodeId !== owner.nodeId) this.remove(nsp, sid);
    const wanted = new Set(rooms);
    const stale = [...(this.get(nsp, sid)?.rooms ?? [])].filter((room) => !wanted.has(room));
    if (stale.length > 0) this.leave(nsp, sid, stale);
    this.join(nsp, sid, owner, wanted, snapshot);
  }

  /** Removes every socket a node owns (the node is gone); returns how many. */
  removeOwnedBy(nodeId: string): number {
    const gone = [...this.all()].filter((entry) => entry.owner.nodeId === nodeId);
    for (const entry of gone) this.remove(entry.nsp, entry.sid);
    return gone.length;
  }

  leave(nsp: string, sid: string, rooms: Iterable<string>): void {
    const view = this.namespaces.get(nsp);
    const entry = view?.sockets.get(sid);
    if (!view || !entry) return;
    for (const room of rooms) if (room !== sid) view.removeFromRoom(room, entry);
    this.onChange(entry, false);
  }

  remove(nsp: string, sid: string): SocketEntry | undefined {
    const view = this.namespaces.get(nsp);
    const entry = view?.sockets.get(sid);
    if (!view || !entry) return undefined;
    for (const room of [...entry.rooms]) view.removeFromRoom(room, entry);
    view.sockets.delete(sid);
    if (view.sockets.size === 0) this.namespaces.delete(nsp);
    this.onChange(entry, true);
    return entry;
  }

  setData(nsp: string, sid: string, data: unknown): void {
    const entry = this.namespaces.get(nsp)?.sockets.get(sid);
    if (!entry?.snapshot) return;
    entry.snapshot = { ...entry.snapshot, data };
    this.onChange(entry, false);
  }

  get(nsp: string, sid: string): SocketEntry | undefined {
    return this.namespaces.get(nsp)?.sockets.get(sid);
  }

  /** The sockets a target reaches, each once: in any of `rooms` (all when empty) and in none of `except`. */
  *select(target: Target): Generator<SocketEntry> {
    const view = this.namespaces.get(target.nsp);
    if (!view) return;
    const excluded = new Set<string>();
    for (const room of target.except) {
      const members = view.rooms.get(room);
      if (members) for (const sid of members.keys()) excluded.add(sid);
    }
    if (target.rooms.length === 0) {
      for (const [sid, entry] of view.sockets) if (!excluded.has(sid)) yield entry;
      return;
    }
    // `excluded` doubles as the set of sockets already yielded: a socket in two target rooms is reached once.
    for (const room of target.rooms) {
      const members = view.rooms.get(room);
      if (!members) continue;
      for (const [sid, entry] of members) {
        if (excluded.has(sid)) continue;
        excluded.add(sid);
        yield entry;
      }
    }
  }

  get isEmpty(): boolean {
    return this.namespaces.size === 0;
  }

  /** Every socket of the hub, in every namespace. */
  *all(): Generator<SocketEntry> {
    for (const view of this.namespaces.values()) yield* view.sockets.values();
  }

  private view(nsp: string): NamespaceView {
    let view = this.namespaces.get(nsp);
    if (!view) this.namespaces.set(nsp, (view = new NamespaceView()));
    return view;
  }

  roomSize(nsp: string, room: string): number {
    return this.namespaces.get(nsp)?.rooms.get(room)?.size ?? 0;
  }
}

class NamespaceView {
  readonly sockets = new Map<string, SocketEntry>();
  readonly rooms = new Map<string, Map<string, SocketEntry>>();

  addToRoom(room: string, entry: SocketEntry): void {
    let members = this.rooms.get(room);
    if (!members) this.rooms.set(room, (members = new Map()));
    members.set(entry.sid, entry);
    entry.rooms.add(room);
  }

  removeFromRoom(room: string, entry: SocketEntry): void {
    const members = this.rooms.get(room);
    if (members?.delete(entry.sid) && members.size === 0) this.rooms.delete(room);
    entry.rooms.delete(room);
  }
}
