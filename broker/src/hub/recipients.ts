import type { SessionId, Target } from "@regio/protocol";
import type { ClientSession } from "./client-session.ts";
import type { MembershipIndex, SocketEntry } from "./membership.ts";

export interface Recipient {
  entry: SocketEntry;
  session: ClientSession;
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
  private readonly lists = new Map<string, Recipient[]>();
  private listedAt = -1;

  constructor(
    private readonly index: MembershipIndex,
    private readonly sessions: ReadonlyMap<SessionId, ClientSession>,
    private readonly nodeId: string,
  ) {}

  /** Those of `target`; with `local`, only the sockets of `originLinkId` (none without one). */
  of(target: Target, originLinkId: string | undefined): readonly Recipient[] {
    if (this.index.version !== this.listedAt) {
      this.lists.clear();
      this.listedAt = this.index.version;
    }
    const local = target.local ? (originLinkId ?? "") : undefined;
    const key = JSON.stringify([target.nsp, target.rooms, target.except, local]);
    let list = this.lists.get(key);
    if (!list) {
      if (this.lists.size >= MAX_TARGETS) this.lists.clear();
      list = [];
      for (const entry of this.index.select(target)) {
        if (entry.owner.nodeId !== this.nodeId) continue;
        if (local !== undefined && entry.owner.linkId !== local) continue;
        const session = this.sessions.get(entry.owner.sessionId);
        if (session) list.push({ entry, session });
      }
      this.lists.set(key, list);
    }
    return list;
  }
}
