import type { Recovery, SocketId, SocketSnapshot } from "@regio/protocol";

/** A socket whose session was lost, kept so its client can come back to it (connection state recovery). */
export interface PersistedSocket {
  nsp: string;
  sid: SocketId;
  rooms: string[];
  snapshot: SocketSnapshot | undefined;
  recovery: Recovery;
  /** When its session was lost, ms. */
  disconnectedAt: number;
}

/**
 * The sockets of one hub that may be recovered, by their private session id (pid), as every node
 * keeps them from the replicated view: a node that loses a client's session persists its sockets
 * (and says so to the others), and a node that is declared gone has its recoverable sockets persisted
 * by every other node. A recovered or expired one is taken out.
 */
export class PersistedSessions {
  private readonly byPid = new Map<string, PersistedSocket>();

  get size(): number {
    return this.byPid.size;
  }

  persist(socket: PersistedSocket): void {
    const known = this.byPid.get(socket.recovery.pid);
    if (!known || known.disconnectedAt <= socket.disconnectedAt) this.byPid.set(socket.recovery.pid, socket);
  }

  /**
   * The socket `pid` names in `nsp`, taken out, if it is still within its window (and the one the
   * app asks for now, when given); undefined otherwise.
   */
  take(pid: string, nsp: string, now: number, windowMs?: number): PersistedSocket | undefined {
    const socket = this.byPid.get(pid);
    if (!socket || socket.nsp !== nsp) return undefined;
    this.byPid.delete(pid);
    const window = Math.min(socket.recovery.windowMs, windowMs ?? Infinity);
    return socket.disconnectedAt + window >= now ? socket : undefined;
  }

  /** The socket is live again somewhere (recovered, or its node came back): not recoverable twice. */
  forget(nsp: string, sid: SocketId, pid?: string): void {
    if (pid !== undefined) {
      if (this.byPid.get(pid)?.sid === sid) this.byPid.delete(pid);
      return;
    }
    for (const [key, socket] of this.byPid)
      if (socket.nsp === nsp && socket.sid === sid) this.byPid.delete(key);
  }

  /** Drops those past their window; returns how many. */
  expire(now: number): number {
    let expired = 0;
    for (const [pid, socket] of this.byPid) {
      if (socket.disconnectedAt + socket.recovery.windowMs >= now) continue;
      this.byPid.delete(pid);
      expired++;
    }
    return expired;
  }
}
