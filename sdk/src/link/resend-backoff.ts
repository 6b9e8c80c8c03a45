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
 *
 * The wait doubles at most once per wait. Operations are sent as the app goes, so one re-send of
 * them comes due over several looks, in parts; doubling at each part would grow the wait with the
 * number of looks it took (a steady stream of broadcasts: every look, so 30 s within five looks),
 * not with the number of re-sends of the same operations.
 */
export class ResendBackoff {
  /** Periodic re-sends since the primary last acknowledged anything. */
  private silentResends = 0;
  /** When the wait last doubled (ms since the epoch). */
  private doubledAt = -Infinity;

  constructor(
    private readonly afterMs: number,
    private readonly maxMs = Math.max(afterMs, MAX_RESEND_AFTER_MS),
  ) {}

  /** The age past which an unacknowledged operation goes again now. */
  get staleAfterMs(): number {
    return Math.min(this.afterMs * 2 ** this.silentResends, this.maxMs);
  }

  /**
   * A periodic re-send sent something at `now` (ms since the epoch). It doubles the wait unless the
   * wait already doubled less than a wait ago: then it is a part of the same re-send (an operation
   * sent first in the previous one is stale again only a whole wait after it).
   */
  resent(now: number): void {
    if (now - this.doubledAt < this.staleAfterMs || this.staleAfterMs >= this.maxMs) return;
    this.silentResends++;
    this.doubledAt = now;
  }

  /** The primary acknowledged an operation (or a new primary got everything): the net tightens again. */
  acknowledged(): void {
    this.silentResends = 0;
    this.doubledAt = -Infinity;
  }
}
