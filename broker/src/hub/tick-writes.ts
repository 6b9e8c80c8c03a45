import { FrameRun } from "./frame-run.ts";

/** What TickWrites needs of a client session. */
export interface TickWriter {
  /** Writes what the session was given this tick (its run), then forgets it. */
  flushTick(): void;
}

/**
 * A hub's WebSocket writes of the current tick, held until the tick ends and then written with one
 * write per client (see FrameRun). Every packet a client is given in a tick joins its run, in
 * order, so holding them changes no order; the tick ends with process.nextTick, after every
 * synchronous delivery and the microtasks they queued (a Kafka batch's records, an app-link chunk's
 * frames), so nothing waits for I/O.
 */
export class TickWrites {
  private root = FrameRun.start();
  private writers: TickWriter[] = [];
  /** Counts the ticks whose writes were flushed: what was shared in one tick is not in the next. */
  tick = 0;

  /** Where a session's run starts this tick; the session will be flushed when the tick ends. */
  begin(writer: TickWriter): FrameRun {
    if (this.writers.length === 0) process.nextTick(() => this.flush());
    this.writers.push(writer);
    return this.root;
  }

  private flush(): void {
    const writers = this.writers;
    this.writers = [];
    this.root = FrameRun.start();
    this.tick++;
    for (const writer of writers) writer.flushTick();
  }
}
