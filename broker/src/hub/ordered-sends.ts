interface Held {
  after: number;
  since: number;
  run: () => void;
}

/** Whether this node has delivered (or skipped) every operation of `stream` up to `seq`. */
export type Reached = (stream: string, seq: number) => boolean;

/**
 * A socket's packets leave in the order its app server sent them, broadcasts included. A packet for
 * one session (an emit, an ack) comes straight over the app link, while a broadcast the app server
 * sent just before it may still be on its way here through another node and the log: each such
 * packet says which operation it follows (`after`), and waits here until the node has delivered it.
 * Whatever a session sends later waits behind what it already waits for. Nothing waits longer than
 * the bound (the sequence gate gives up on a missing operation after the same time).
 */
export class OrderedSends<Session> {
  private readonly waiting = new Map<Session, { stream: string; queue: Held[] }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly reached: Reached,
    private readonly timeoutMs = 3000,
  ) {}

  /** Runs `run` now, or once the node has reached `after` of `stream` (and the session's earlier sends ran). */
  submit(session: Session, stream: string, after: number | undefined, run: () => void): void {
    const waiting = this.waiting.get(session);
    if (!waiting && (after === undefined || this.reached(stream, after))) return run();
    const held = { after: after ?? 0, since: Date.now(), run };
    if (waiting) waiting.queue.push(held);
    else this.waiting.set(session, { stream, queue: [held] });
    this.timer ??= setInterval(() => this.expire(), Math.max(100, this.timeoutMs / 4)).unref();
  }

  /** The node moved on in `stream`: what waited for it goes. */
  advanced(stream: string): void {
    if (this.waiting.size === 0) return;
    for (const [session, waiting] of this.waiting) {
      if (waiting.stream === stream) this.release(session, (held) => this.reached(stream, held.after));
    }
  }

  /** The session ended: what waited for it is dropped. */
  forget(session: Session): void {
    this.waiting.delete(session);
    this.stopIfIdle();
  }

  close(): void {
    this.waiting.clear();
    this.stopIfIdle();
  }

  private expire(): void {
    const deadline = Date.now() - this.timeoutMs;
    for (const [session, { stream }] of [...this.waiting]) {
      this.release(session, (held) => held.since <= deadline || this.reached(stream, held.after));
    }
    this.stopIfIdle();
  }

  /** Runs the session's queue from its head for as long as `ready` says the head may go. */
  private release(session: Session, ready: (held: Held) => boolean): void {
    const waiting = this.waiting.get(session);
    if (!waiting) return;
    while (waiting.queue.length > 0 && ready(waiting.queue[0]!)) waiting.queue.shift()!.run();
    if (waiting.queue.length === 0) this.waiting.delete(session);
  }

  private stopIfIdle(): void {
    if (this.waiting.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
