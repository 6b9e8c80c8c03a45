import type { Outbox, OutboxEntry } from "./outbox.ts";

/**
 * How far past the resume point one acknowledgement looks for the next refused operation. A node
 * refuses an operation and every later one of the stream until that one is taken, so what follows
 * the resume point is unacknowledged and the search ends at once; only a node acknowledging
 * operations it had refused, out of order, leaves gaps. The bound keeps such a node from making each
 * acknowledgement walk the whole stream; past it the periodic re-send takes over.
 */
const MAX_SKIPPED = 1024;

/**
 * Re-sends what the primary refused for now (its replication buffer was full) as soon as it has room
 * again, instead of at the next periodic re-send: the node says which operation it refused (an Error
 * with its `seq`, retriable), and from then on each acknowledgement it sends (an operation of this
 * stream left its buffer for the log, freeing room for about one more) sends the next refused
 * operation again, in order. Without acknowledgements (the log is still down, or only other app
 * servers' operations fill the buffer) nothing goes early, and the periodic re-send still comes.
 */
export class RefusedResend {
  /** The operation that goes again on the next acknowledgement; undefined when nothing is refused. */
  private resumeAt: number | undefined;

  constructor(private readonly outbox: Outbox) {}

  /** The primary refused `seq` for now. A seq the outbox does not hold is not one it was sent. */
  refused(seq: number): void {
    if (!this.outbox.holds(seq)) return;
    if (this.resumeAt === undefined || seq < this.resumeAt) this.resumeAt = seq;
  }

  /** The primary acknowledged an operation: the refused one to send again now, if any. */
  acknowledged(): OutboxEntry | undefined {
    if (this.resumeAt === undefined) return undefined;
    const entry = this.outbox.firstUnacknowledgedFrom(this.resumeAt, MAX_SKIPPED);
    this.resumeAt = entry === undefined ? undefined : entry.seq + 1;
    return entry;
  }

  /** Everything unacknowledged goes to a new primary anyway. */
  reset(): void {
    this.resumeAt = undefined;
  }
}
