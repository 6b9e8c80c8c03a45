/** The longest the periodic re-send waits while the primary acknowledges nothing. */
export const MAX_RESEND_AFTER_MS = 30_000;

/**
 * How old an unacknowledged operation must be before the periodic re-send sends it again. The
 * periodic re-send is a safety net for an operation a node took and lost while the link stayed up;
 * while the node acknowledges nothing at all (its log is down, and it holds what it took in its
 * buffer), each re-send only has the node decode a backlog and drop it as duplicates. So each
 * re-send that finds the primary silent since the last one doubles the wait (3, 6, 12, 24, 30 s
 * with the default 3 s), and any acknowledgement brings it back: while the log takes operations,
 * the net is as tight as before. Through a Kafka outage with 100,000 broadcasts waiting in a node's
 * buffer, re-sending all of them every 3 s cost the node and app server 18-41 % of a core.
 */
export class ResendBackoff {
  /** Periodic re-sends since the primary last acknowledged anything. */
  private silentResends = 0;

  constructor(
    private readonly afterMs: number,
    private readonly maxMs = Math.max(afterMs, MAX_RESEND_AFTER_MS),
  ) {}

  /** The age past which an unacknowledged operation goes again now. */
  get staleAfterMs(): number {
    return Math.min(this.afterMs * 2 ** this.silentResends, this.maxMs);
  }

  /** A periodic re-send sent something. */
  resent(): void {
    if (this.staleAfterMs < this.maxMs) this.silentResends++;
  }

  /** The primary acknowledged an operation (or a new primary got everything): the net tightens again. */
  acknowledged(): void {
    this.silentResends = 0;
  }
}
