/**
 * Logs one kind of event at most once per interval, saying how many were left out since: input
 * anyone can produce (forged records, for instance) must not be able to flood the logs.
 */
export class LogThrottle {
  private readonly kinds = new Map<string, { loggedAt: number; suppressed: number }>();

  constructor(private readonly intervalMs = 10_000) {}

  /** Calls `write` (with how many of this kind were suppressed before it) unless it wrote recently. */
  log(kind: string, write: (suppressed: number) => void): void {
    const now = Date.now();
    const last = this.kinds.get(kind);
    if (last && now - last.loggedAt < this.intervalMs) {
      last.suppressed++;
      return;
    }
    write(last?.suppressed ?? 0);
    this.kinds.set(kind, { loggedAt: now, suppressed: 0 });
  }
}
