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
 * again, and not before: the node says where the stream resumes (an Error with that `seq`,
 * retriable: it took every operation below it and takes none above it until it comes, ADR 0022),
 * and from then on each acknowledgement it sends (an operation of this stream left its buffer for
 * the log, freeing room for about one more) sends the next refused operation again, in order. Until
 * an acknowledgement comes (the log is still down, or only other app servers' operations fill the
 * buffer), the periodic re-send sends the first refused operation alone (see `firstWhileRefusing`):
 * the node would refuse every later one, and a backlog of thousands re-sent every few seconds only
 * to be refused again kept a node busy through a Kafka outage (100,000 operations: 62-81 % of a
 * core).
 */
export class RefusedResend {
  /** The operation that goes again on the next acknowledgement; undefined when nothing is refused. */
  private resumeAt: number | undefined;
  /** The primary's last word was a refusal, not an acknowledgement: it has no room now. */
  private refusing = false;

  constructor(private readonly outbox: Outbox) {}

  /**
   * While the primary refuses, the first refused operation: the one thing the periodic re-send
   * sends then (the node takes none after it before it takes it, and holds the ones before it
   * already). Undefined otherwise, or when that one is not found: every unacknowledged operation
   * may go.
   */
  firstWhileRefusing(): OutboxEntry | undefined {
    if (!this.refusing || this.resumeAt === undefined) return undefined;
    return this.outbox.firstUnacknowledgedFrom(this.resumeAt, MAX_SKIPPED);
  }

  /**
   * The primary refused operations for now, and its stream resumes at `seq`: the node took every
   * operation below it and takes none above it until it comes. Its latest word wins: an earlier
   * notice's seq may have been taken since, and going back to it would spend acknowledgements on
   * copies of what the node holds. A seq the outbox does not hold is not one it was sent.
   */
  refused(seq: number): void {
    if (!this.outbox.holds(seq)) return;
    this.refusing = true;
    this.resumeAt = seq;
  }

  /** The primary acknowledged an operation: the refused one to send again now, if any. */
  acknowledged(): OutboxEntry | undefined {
    this.refusing = false;
    if (this.resumeAt === undefined) return undefined;
    const entry = this.outbox.firstUnacknowledgedFrom(this.resumeAt, MAX_SKIPPED);
    this.resumeAt = entry === undefined ? undefined : entry.seq + 1;
    return entry;
  }

  /** Everything unacknowledged goes to a new primary anyway. */
  reset(): void {
    this.resumeAt = undefined;
    this.refusing = false;
  }
}
