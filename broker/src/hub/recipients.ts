import type { SessionId, Target } from "@regio/protocol";
import type { ClientSession } from "./client-session.ts";
import type { RunCursor } from "./frame-run.ts";
import type { MembershipIndex, SocketEntry } from "./membership.ts";

export interface Recipient {
  entry: SocketEntry;
  session: ClientSession;
}

/** A target's recipients on this node, and the cursor they share in the current tick, if they do. */
export interface RecipientList {
  readonly items: readonly Recipient[];
  /** A recovered socket among them may skip what its client already has: each is then written alone. */
  readonly anyRecovered: boolean;
  /** Every one of them given the same this tick so far: a broadcast to all moves this (see deliver). */
  shared?: { tick: number; cursor: RunCursor };
}

/** Distinct targets remembered at once: a stream of `to(socketId)` emits must not grow it without bound. */
const MAX_TARGETS = 256;

/**
 * This node's client sessions a target reaches, listed once and reused by every broadcast to the
 * same target until the membership view changes: a burst of broadcasts to everyone (or to one
 * room) walks the view once, not once per broadcast. Any change to the view (a join, a leave, a
 * socket gone, a node suspended) drops every list; a session that closed before its sockets left
 * the view is still listed, and its write refuses (it is no longer open), as a lookup would have.
 */
export class Recipients {
  private readonly lists = new Map<string, RecipientList>();
  private listedAt = -1;

  constructor(
    private readonly index: MembershipIndex,
    private readonly sessions: ReadonlyMap<SessionId, ClientSession>,
    private readonly nodeId: string,
  ) {}

  /** Those of `target`; with `local`, only the sockets of `originLinkId` (none without one). */
  of(target: Target, originLinkId: string | undefined): RecipientList {
    if (this.index.version !== this.listedAt) {
      this.lists.clear();
      this.listedAt = this.index.version;
    }
    const local = target.local ? (originLinkId ?? "") : undefined;
    const key = JSON.stringify([target.nsp, target.rooms, target.except, local]);
    let list = this.lists.get(key);
    if (!list) {
      if (this.lists.size >= MAX_TARGETS) this.lists.clear();
      const items: Recipient[] = [];
      for (const entry of this.index.select(target)) {
        if (entry.owner.nodeId !== this.nodeId) continue;
        if (local !== undefined && entry.owner.linkId !== local) continue;
        const session = this.sessions.get(entry.owner.sessionId);
        if (session) items.push({ entry, session });
      }
      // A socket is marked recovered when it joins (the view changes): a list made later sees it.
      list = { items, anyRecovered: items.some((r) => r.entry.received !== undefined) };
      this.lists.set(key, list);
    }
    return list;
  }
}
