import type { Target } from "@regio/protocol";
import type { PreparedPacket } from "./prepared-packet.ts";
import type { RecoveryOffset } from "./recovery-offset.ts";

/** One recoverable event as this node delivered it: to whom, and the packet with its offset. */
interface Delivered {
  stream: string;
  seq: number;
  /** When this node delivered it, ms. */
  at: number;
  target: Target;
  packet: PreparedPacket;
}

export interface RecoveryLogOptions {
  /** How long events are kept for sessions that come back (the longest recovery window), ms. */
  windowMs: number;
  /** Bytes kept at most (the oldest go first). */
  maxBytes: number;
}

/**
 * The recoverable events one hub's node delivered lately, in delivery order, bounded in time and
 * bytes: what a client that comes back (to this node, after losing another) may have missed. It is
 * filled from what the node delivers, including, at start, the recovery window of the replicated
 * log it reads before serving, so it does not depend on any one node's memory.
 */
export class RecoveryLog {
  private entries: Delivered[] = [];
  private head = 0;
  private bytes = 0;
  /** The time from which this log is complete (nothing delivered since then is missing). */
  private completeSince = Date.now();

  constructor(private readonly options: RecoveryLogOptions) {}

  get isEmpty(): boolean {
    return this.head === this.entries.length;
  }

  add(stream: string, seq: number, target: Target, packet: PreparedPacket, at = Date.now()): void {
    this.entries.push({ stream, seq, at, target, packet });
    this.bytes += packet.bytes;
    this.prune(at);
  }

  /** This node read the replicated log from `time` on: the log is complete from then. */
  completeFrom(time: number): void {
    this.completeSince = Math.min(this.completeSince, time);
  }

  /**
   * The events a client missed after receiving the event of `offset`, in the order this node
   * delivered them, among those that reach a socket in `rooms` of `nsp`; undefined when this log
   * does not reach back to that event (it is older than the window, or than what this node read).
   */
  missedAfter(offset: RecoveryOffset, nsp: string, rooms: readonly string[]): PreparedPacket[] | undefined {
    const oldest = this.entries[this.head];
    const reachesBack = Math.max(this.completeSince, oldest === undefined ? -Infinity : oldest.at);
    if (offset.at < reachesBack) return undefined;
    const missed: PreparedPacket[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      const last = offset.positions.get(entry.stream);
      // A stream the old node had not seen at all: what came after the client's last event.
      const after = last === undefined ? entry.at >= offset.at : entry.seq > last;
      if (after && reaches(entry.target, nsp, rooms)) missed.push(entry.packet);
    }
    return missed;
  }

  /** Drops what is past the window (or over the byte bound). */
  prune(now: number): void {
    const deadline = now - this.options.windowMs;
    while (this.head < this.entries.length) {
      const first = this.entries[this.head]!;
      if (first.at >= deadline && this.bytes <= this.options.maxBytes) break;
      this.bytes -= first.packet.bytes;
      this.completeSince = Math.max(this.completeSince, first.at + 1);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

/** socket.io's rule for a recovered session: in any target room (all when none) and in no excepted one. */
function reaches(target: Target, nsp: string, rooms: readonly string[]): boolean {
  if (target.nsp !== nsp) return false;
  const included = target.rooms.length === 0 || rooms.some((room) => target.rooms.includes(room));
  return included && rooms.every((room) => !target.except.includes(room));
}
