import { encodeMessage, ErrorCode, RegioError, type Operation } from "@regio/protocol";

/** An operation as the adapter hands it over: the outbox numbers it. */
export type UnsequencedOperation = Operation extends infer O
  ? O extends Operation
    ? Omit<O, "seq">
    : never
  : never;

export interface OutboxEntry {
  seq: number;
  /** The operation's frame, encoded once: re-sends send the same bytes. */
  frame: Uint8Array;
  sentAt: number;
}

interface Acknowledged {
  seq: number;
  frame: Uint8Array;
  ackedAt: number;
}

export interface OutboxOptions {
  /** Bytes of unacknowledged operations held at most; past it `add` throws BUFFER_FULL. */
  maxBytes: number;
  /**
   * How long an acknowledged operation is kept for a replay after its region is lost: a node
   * acknowledges once its own region's log has an operation, which other regions may not have read
   * yet. Longer than the replication lag between regions.
   */
  replayWindowMs: number;
  /** Bytes of acknowledged operations kept for replay at most (the oldest go first). */
  maxReplayBytes: number;
}

export const DEFAULT_OUTBOX_OPTIONS: OutboxOptions = {
  maxBytes: 64 * 1024 * 1024,
  replayWindowMs: 30_000,
  maxReplayBytes: 32 * 1024 * 1024,
};

/**
 * The app server's operation stream: numbers each operation (1, 2, 3, ... for the life of the
 * process), keeps it until a node acknowledges it (the node's region log has it), then keeps it a
 * while longer for a replay to another region. Bounded in bytes both ways: a full outbox refuses new
 * operations with BUFFER_FULL (nothing accepted is dropped), a full replay drops its oldest.
 */
export class Outbox {
  private numbered = 0;
  private readonly pending = new Map<number, OutboxEntry>();
  private pendingBytes = 0;
  /** In the order acknowledged; entries before `head` are pruned (compacted now and then). */
  private acknowledged: Acknowledged[] = [];
  private head = 0;
  private acknowledgedBytes = 0;

  constructor(private readonly options: OutboxOptions = DEFAULT_OUTBOX_OPTIONS) {}

  /** The last seq numbered so far (0 before the first). */
  get lastSeq(): number {
    return this.numbered;
  }

  /** Unacknowledged operations and their bytes (for diagnostics). */
  get size(): { operations: number; bytes: number } {
    return { operations: this.pending.size, bytes: this.pendingBytes };
  }

  /**
   * Numbers and encodes an operation and keeps it until acknowledged. Throws, without numbering it,
   * PAYLOAD_TOO_LARGE when its frame is larger than a node accepts, or BUFFER_FULL.
   */
  add(operation: UnsequencedOperation, maxFrameBytes: number): OutboxEntry {
    const seq = this.numbered + 1;
    let frame: Uint8Array;
    try {
      frame = encodeMessage({ ...operation, seq } as Operation);
    } catch (cause) {
      throw new RegioError(ErrorCode.BadFrame, "the operation's arguments cannot be encoded", { cause });
    }
    if (frame.byteLength > maxFrameBytes) {
      throw new RegioError(
        ErrorCode.PayloadTooLarge,
        `operation of ${frame.byteLength} bytes exceeds the ${maxFrameBytes} bytes a node accepts`,
      );
    }
    if (this.pendingBytes + frame.byteLength > this.options.maxBytes) {
      throw new RegioError(
        ErrorCode.BufferFull,
        `${this.pending.size} operations (${this.pendingBytes} bytes) wait for a node's acknowledgement`,
      );
    }
    this.numbered = seq;
    const entry = { seq, frame, sentAt: Date.now() };
    this.pending.set(seq, entry);
    this.pendingBytes += frame.byteLength;
    return entry;
  }

  /** A node's region log has it: it moves to the replay window. */
  acknowledge(seq: number, now = Date.now()): void {
    const entry = this.pending.get(seq);
    if (!entry) return;
    this.remove(entry);
    this.acknowledged.push({ seq, frame: entry.frame, ackedAt: now });
    this.acknowledgedBytes += entry.frame.byteLength;
    this.prune(now);
  }

  /** A node refused it for good (too large, out of range): it will never be delivered. */
  refuse(seq: number): boolean {
    const entry = this.pending.get(seq);
    if (entry) this.remove(entry);
    return entry !== undefined;
  }

  /** Whether `seq` is numbered and not acknowledged yet. */
  holds(seq: number): boolean {
    return this.pending.has(seq);
  }

  /**
   * The unacknowledged operation with the lowest seq from `seq` on, looking past at most `maxSkipped`
   * acknowledged ones (undefined past them, or when there is none).
   */
  firstUnacknowledgedFrom(seq: number, maxSkipped: number): OutboxEntry | undefined {
    const last = Math.min(this.numbered, seq + maxSkipped);
    for (let next = seq; next <= last; next++) {
      const entry = this.pending.get(next);
      if (entry) return entry;
    }
    return undefined;
  }

  /** Unacknowledged operations in order. */
  unacknowledged(): IterableIterator<OutboxEntry> {
    return this.pending.values();
  }

  /**
   * What to send to a new region after the previous one was lost: the replay window and then every
   * unacknowledged operation, in order. The new region's nodes drop what they already have.
   */
  forReplay(now = Date.now()): Uint8Array[] {
    this.prune(now);
    const entries: Array<{ seq: number; frame: Uint8Array }> = [
      ...this.acknowledged.slice(this.head),
      ...this.pending.values(),
    ];
    return entries.sort((a, b) => a.seq - b.seq).map((entry) => entry.frame);
  }

  private remove(entry: OutboxEntry): void {
    this.pending.delete(entry.seq);
    this.pendingBytes -= entry.frame.byteLength;
  }

  private prune(now: number): void {
    const deadline = now - this.options.replayWindowMs;
    const list = this.acknowledged;
    while (
      this.head < list.length &&
      (list[this.head]!.ackedAt < deadline || this.acknowledgedBytes > this.options.maxReplayBytes)
    ) {
      this.acknowledgedBytes -= list[this.head]!.frame.byteLength;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > list.length) {
      this.acknowledged = list.slice(this.head);
      this.head = 0;
    }
  }
}
