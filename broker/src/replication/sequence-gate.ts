/**
 * Exactly once and in order, per app server: the one place where duplicates are dropped and
 * out-of-order operations are held back.
 *
 * Operations of one app server are numbered 1, 2, 3, ... by its SDK and every replicated number
 * reaches every node, but not always once (a record mirrored twice, an operation re-sent to another
 * node after a failover) nor in order (the SDK moved to a node of another region whose log a
 * receiver reads faster). The gate delivers each number once, in ascending order. A number that is
 * missing holds back the later ones for at most `gapTimeoutMs`; then the gate gives up on it (it was
 * lost before anyone accepted it, e.g. a node died with it) and moves on, and says so.
 *
 * The first number seen from an app server starts its stream: a node that starts late does not wait
 * for history it will never see.
 */
export type GateVerdict = "delivered" | "duplicate" | "held" | "out of range";

/** Sequence numbers start at 1 and stay far below 2^53 (an app server would need 2^48 operations). */
export const MAX_SEQ = 2 ** 48;
/**
 * How far ahead of the next expected number an operation may be. Further means it is not this
 * stream's (a bug, or a forged record): accepting it would make the gate skip everything before it.
 */
export const MAX_SEQ_JUMP = 10_000_000;

interface Stream<T> {
  next: number;
  held: Map<number, T>;
  timer: NodeJS.Timeout | undefined;
  /** When the stream last moved (ms), for pruning streams that ended. */
  movedAt: number;
}

/** A stream idle this long (its app server is gone; replays are far shorter) is forgotten. */
export const IDLE_STREAM_MS = 60 * 60_000;

export class SequenceGate<T> {
  private readonly streams = new Map<string, Stream<T>>();
  /** Told after a stream moved on (delivered, or skipped a gap), e.g. to release what waited for it. */
  onAdvance: (stream: string) => void = () => {};

  constructor(
    private readonly deliver: (item: T) => void,
    private readonly onGap: (appServerId: string, from: number, to: number) => void = () => {},
    private readonly gapTimeoutMs = 2000,
  ) {}

  /** Whether `seq` may be offered for this stream (see MAX_SEQ, MAX_SEQ_JUMP). */
  accepts(appServerId: string, seq: number): boolean {
    if (!Number.isSafeInteger(seq) || seq < 1 || seq > MAX_SEQ) return false;
    const stream = this.streams.get(appServerId);
    return !stream || seq <= stream.next + MAX_SEQ_JUMP;
  }

  offer(appServerId: string, seq: number, item: T): GateVerdict {
    if (!this.accepts(appServerId, seq)) return "out of range";
    let stream = this.streams.get(appServerId);
    if (!stream) {
      this.streams.set(
        appServerId,
        (stream = { next: seq, held: new Map(), timer: undefined, movedAt: Date.now() }),
      );
    }
    if (seq < stream.next || stream.held.has(seq)) return "duplicate";
    if (seq > stream.next) {
      stream.held.set(seq, item);
      stream.timer ??= setTimeout(() => this.skipGap(appServerId), this.gapTimeoutMs).unref();
      return "held";
    }
    this.deliver(item);
    stream.next++;
    stream.movedAt = Date.now();
    this.drain(stream);
    this.onAdvance(appServerId);
    return "delivered";
  }

  close(): void {
    for (const stream of this.streams.values()) clearTimeout(stream.timer);
  }

  /** Forgets streams idle past IDLE_STREAM_MS with nothing held (new ones start as first seen). */
  prune(now = Date.now()): void {
    for (const [name, stream] of this.streams) {
      if (stream.held.size === 0 && now - stream.movedAt > IDLE_STREAM_MS) this.streams.delete(name);
    }
  }

  /** The last number of a stream delivered (or skipped) here; undefined for a stream never seen. */
  position(stream: string): number | undefined {
    const known = this.streams.get(stream);
    return known && known.next - 1;
  }

  /** Every stream seen here and its position, as `position` gives it. */
  *positions(): Generator<[stream: string, last: number]> {
    for (const [name, stream] of this.streams) yield [name, stream.next - 1];
  }

  private drain(stream: Stream<T>): void {
    let item: T | undefined;
    while ((item = stream.held.get(stream.next)) !== undefined) {
      stream.held.delete(stream.next);
      this.deliver(item);
      stream.next++;
    }
    if (stream.held.size === 0 && stream.timer) {
      clearTimeout(stream.timer);
      stream.timer = undefined;
    }
  }

  private skipGap(appServerId: string): void {
    const stream = this.streams.get(appServerId);
    if (!stream) return;
    stream.timer = undefined;
    if (stream.held.size === 0) return;
    const resume = Math.min(...stream.held.keys());
    this.onGap(appServerId, stream.next, resume - 1);
    stream.next = resume;
    this.drain(stream);
    this.onAdvance(appServerId);
    if (stream.held.size > 0)
      stream.timer = setTimeout(() => this.skipGap(appServerId), this.gapTimeoutMs).unref();
  }
}
