import type { Outbox, OutboxEntry } from "./outbox.ts";

/**
 * How far past the resume point one acknowledgement looks for the next refused operation. A node
 * refuses an operation and every later one of the stream until that one is taken, so what follows
 * the resume point is unacknowledged and the search ends at once; only a node acknowledging
 * operations it had refused, out of order, leaves gaps. The bound keeps such a node from making each
 * acknowledgement walk the whole stream; past it the periodic re-send takes over.
 */
const MAX_SKIPPED = 1024;

/** Refused operations re-sent per acknowledgement (see `acknowledged`). */
const RESENDS_PER_ACKNOWLEDGEMENT = 2;

const NONE: readonly OutboxEntry[] = [];

/** What the periodic re-send may send while the primary refuses or a refused backlog drains. */
export interface PeriodicResend {
  /** The operation at the resume point, to send alone (if it was not sent lately); undefined: none. */
  resumePoint: OutboxEntry | undefined;
  /** The periodic re-send sends no operation from this seq on: they are the acknowledgements' to send. */
  staleBelow: number;
}

/**
 * Re-sends what the primary refused for now (its replication buffer was full) as soon as it has room
 * again, and not before: the node says where the stream resumes (an Error with that `seq`,
 * retriable: it took every operation below it and takes none above it until it comes, ADR 0022),
 * and from then on each acknowledgement it sends (an operation of this stream left its buffer for
 * the log, freeing room for about one more) sends the next refused operation again, in order.
 *
 * The periodic re-send keeps out of such a drain (see `forPeriodicResend`, ADR 0023): it sends
 * nothing from the resume point on, which the acknowledgements send as room frees up, and the
 * operation at the resume point alone while the node refuses or acknowledges nothing (to find the
 * room again). A backlog of thousands re-sent every few seconds only to be refused again kept a node
 * busy through a Kafka outage (100,000 operations: 62-81 % of a core), and, re-sent whole in the
 * middle of a drain, held up the acknowledgements that pace it (the drain went at about half its
 * pace).
 */
export class RefusedResend {
  /** The operation that goes again on the next acknowledgement; undefined when nothing is refused. */
  private resumeAt: number | undefined;
  /** The primary's last word was a refusal, not an acknowledgement: it has no room now. */
  private refusing = false;
  /** When the primary last acknowledged an operation (ms since the epoch). */
  private acknowledgedAt = 0;

  constructor(private readonly outbox: Outbox) {}

  /**
   * What the periodic re-send may send, given that an acknowledgement before `quietSince` (ms since
   * the epoch) is too long ago to count on the next one:
   * - nothing refused (or the resume point not found): every stale operation, as without a drain;
   * - the primary refuses: the operation at the resume point alone. The node takes none after it
   *   before it took that one, and holds the ones before it already (waiting for its log);
   * - a drain paced by acknowledgements: the stale operations before the resume point (sent and not
   *   acknowledged: one the node took and lost goes again), and the one at the resume point too when
   *   no acknowledgement came since `quietSince` (the chain of re-sends lost a link: that one starts it
   *   again, or is refused and says so).
   */
  forPeriodicResend(quietSince: number): PeriodicResend {
    const resumePoint =
      this.resumeAt === undefined
        ? undefined
        : this.outbox.firstUnacknowledgedFrom(this.resumeAt, MAX_SKIPPED);
    if (resumePoint === undefined) return { resumePoint: undefined, staleBelow: Infinity };
    if (this.refusing) return { resumePoint, staleBelow: 0 };
    return {
      resumePoint: this.acknowledgedAt < quietSince ? resumePoint : undefined,
      staleBelow: resumePoint.seq,
    };
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

  /**
   * The primary acknowledged an operation: the refused ones to send again now (none when nothing is
   * refused). Two per acknowledgement, in order: one takes the room the acknowledged operation
   * left, and the other finds out whether there is more (other app servers' operations may have
   * left the buffer too: a drain that took only what it gave back would keep the share of the
   * buffer it had when the log came back). Where there is none, the node refuses it and names it,
   * and the drain resumes there; so a drain costs at most one refused copy per operation taken.
   */
  acknowledged(now = Date.now()): readonly OutboxEntry[] {
    this.refusing = false;
    this.acknowledgedAt = now;
    if (this.resumeAt === undefined) return NONE;
    const next: OutboxEntry[] = [];
    while (next.length < RESENDS_PER_ACKNOWLEDGEMENT && this.resumeAt !== undefined) {
      const entry = this.outbox.firstUnacknowledgedFrom(this.resumeAt, MAX_SKIPPED);
      this.resumeAt = entry === undefined ? undefined : entry.seq + 1;
      if (entry) next.push(entry);
    }
    return next;
  }

  /** Everything unacknowledged goes to a new primary anyway. */
  reset(): void {
    this.resumeAt = undefined;
    this.refusing = false;
  }
}
