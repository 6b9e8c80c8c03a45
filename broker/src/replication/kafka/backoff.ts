/**
 * Exponential backoff for things that must eventually work and are retried forever (setting up
 * against a Kafka that is down, slow or electing leaders): 100 ms, 200 ms, ... capped at a few
 * seconds, with jitter so that nodes started together do not retry in lockstep.
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly initialMs = 100,
    private readonly maxMs = 3000,
  ) {}

  /** The wait before the next attempt, after one more failure. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 16));
    this.failures++;
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  reset(): void {
    this.failures = 0;
  }

  get attempts(): number {
    return this.failures;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds or `signal` aborts, waiting with backoff between failures.
 * Never rejects: resolves with the result, or undefined once aborted. `onFailure` is told of every
 * failure (to report it in readiness and logs).
 */
export async function retryUntilDone<T>(
  attempt: () => Promise<T>,
  signal: AbortSignal,
  onFailure: (error: unknown, retryInMs: number) => void,
  backoff = new Backoff(),
): Promise<T | undefined> {
  while (!signal.aborted) {
    try {
      return await attempt();
    } catch (error) {
      if (signal.aborted) return undefined;
      const wait = backoff.next();
      onFailure(error, wait);
      await pause(wait, signal);
    }
  }
  return undefined;
}
