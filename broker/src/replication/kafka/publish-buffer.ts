import type { SpanContext } from "@opentelemetry/api";
import { ErrorCode, RegioError } from "@regio/protocol";
import { describeError, isRecordFault, isTooLarge } from "./kafka-errors.ts";
import { sizeOf, type KafkaMessage } from "./record-codec.ts";
import { RefusedSeqs } from "./refused-seqs.ts";
import { RefusedForNow } from "../replicator.ts";

export interface TopicBatch {
  topic: string;
  messages: KafkaMessage[];
}

export interface PublishBufferOptions {
  /** Writes the batches durably (Kafka: acks=all); rejects with Kafka's error. */
  send(batches: TopicBatch[]): Promise<void>;
  eventsTopic: string;
  /** Events accepted but not yet taken by Kafka, at most (bytes): a full buffer refuses. */
  maxBufferedBytes: number;
  /** One send carries at most this many bytes (but always at least one record). */
  maxBatchBytes: number;
  /** A record larger than this (key, value and headers) is refused at once, never buffered. */
  maxRecordBytes: number;
  /** A membership or heartbeat record Kafka refused for good, or too large to try: dropped. */
  onDropped?(topic: string, reason: string): void;
  /**
   * A write starts: `links` are the traced events in it (their "create" spans). Returns what to call
   * when the write ends (with Kafka's error if it failed), or nothing.
   */
  observeSend?(links: SpanContext[], records: number): ((error?: unknown) => void) | undefined;
}

interface PendingEvent {
  message: KafkaMessage;
  /** The event's "create" span, when it is traced: the write's span links to it. */
  traced: SpanContext | undefined;
  bytes: number;
  resolve: () => void;
  reject: (error: RegioError) => void;
  since: number;
}

interface Latest {
  topic: string;
  message: KafkaMessage;
}

/** What one send carries: events from the head of the queue, and latest values by key. */
interface Batch {
  events: PendingEvent[];
  latest: Array<[string, Latest]>;
}

/** Events waiting longer than this (or one send taking longer) mean Kafka is not taking writes. */
const STALL_MS = 2000;
/** Kafka's own framing per record (lengths, offsets, timestamp delta), roughly, for the byte budget. */
const RECORD_OVERHEAD_BYTES = 64;
/**
 * Streams tracked (one per app server process): their highest accepted seq (the oldest go first), and
 * their refused seqs (past the bound, a new stream's refusals are not tracked, and it loses the order).
 */
const MAX_TRACKED_STREAMS = 10_000;

/**
 * What a node accepted but Kafka has not durably taken yet. Events keep their order and are bounded
 * in bytes: a full buffer refuses new events (the caller keeps them; the SDK re-sends), it never
 * drops accepted ones. Membership and heartbeats keep only the latest value per key (like the
 * compacted topics they go to), so they are bounded by the number of sockets and nodes.
 *
 * One send is in flight at a time, at most `maxBatchBytes`: a send that fails for a passing reason
 * is retried as a whole before anything after it, so one app server's events reach Kafka in order
 * (a retry may duplicate; receivers drop those). A send that Kafka refuses because of a record in
 * it (too large, invalid) is split: its records are sent one at a time, in order, so that the
 * offending record fails alone (its publish rejects, not retriable) and the others go on.
 */
export class PublishBuffer {
  private events: PendingEvent[] = [];
  /** Per stream, the events refused for now that have not come again: later ones wait behind them. */
  private readonly refused = new Map<string, RefusedSeqs>();
  /** Per stream, the highest seq accepted: a refused seq at or below it is a copy (see publishEvent). */
  private readonly highestAccepted = new Map<string, number>();
  private eventBytes = 0;
  private latest = new Map<string, Latest>();
  /** After a record fault: how many head events, and which latest keys, to send one at a time. */
  private alone = { events: 0, latest: new Set<string>() };
  private flushingSince: number | undefined;
  private failures = 0;
  /** Writes that failed so far (for metrics; `failures` counts only the current streak). */
  errors = 0;
  /** Cancels the flush scheduled next, if any. */
  private cancelScheduled: (() => void) | undefined;
  private closed = false;
  /** The last error Kafka gave, cleared by the next success. */
  lastError: string | undefined;

  constructor(private readonly options: PublishBufferOptions) {}

  get bufferedBytes(): number {
    return this.eventBytes;
  }

  get healthy(): boolean {
    const now = Date.now();
    const oldest = this.events[0];
    return (
      this.lastError === undefined &&
      (!oldest || now - oldest.since < STALL_MS) &&
      (this.flushingSince === undefined || now - this.flushingSince < STALL_MS)
    );
  }

  /**
   * Accepts an event of an ordered stream (one app server's operations) or refuses it. Too large a
   * record is refused for good (PAYLOAD_TOO_LARGE, not retriable) and blocks nothing. When the
   * buffer is full the event is refused for now (retriable), and the stream's later events are
   * refused too until the refused one comes again and is accepted, and then each of them in turn,
   * lowest first: a stream never reaches Kafka with a hole that a re-send could have filled. So an
   * event sent while refused ones are re-sent (an app that goes on broadcasting while a backlog
   * drains) waits for them, and does not reach Kafka before them, which other regions' sequence
   * gates would have taken for a gap and skipped after 2 s. A refused copy of an event the stream
   * had accepted already (a re-send that crossed its acknowledgement) holds nothing back: it fills
   * no hole, and the SDK, which has its acknowledgement, never sends it again, so the stream would
   * wait behind it for good.
   */
  publishEvent(
    message: KafkaMessage,
    order: { stream: string; seq: number },
    traced?: SpanContext,
  ): Promise<void> {
    const bytes = sizeOf(message);
    if (bytes > this.options.maxRecordBytes) {
      return Promise.reject(
        new RegioError(
          ErrorCode.PayloadTooLarge,
          `record of ${bytes} bytes is larger than the replication limit of ${this.options.maxRecordBytes} bytes`,
          { retriable: false },
        ),
      );
    }
    const refused = this.refused.get(order.stream);
    const waitingFor = refused?.lowest;
    const full = this.eventBytes + bytes > this.options.maxBufferedBytes;
    if (full || (waitingFor !== undefined && order.seq > waitingFor)) {
      const copy = order.seq <= (this.highestAccepted.get(order.stream) ?? 0) && !refused?.has(order.seq);
      if (!copy) this.refusedForNow(order);
      const reason = full
        ? `replication buffer is full (${this.eventBytes} bytes waiting for Kafka)`
        : `seq ${waitingFor} of this stream was refused for lack of room, and goes first`;
      return Promise.reject(new RefusedForNow(reason, this.refused.get(order.stream)?.lowest));
    }
    if (refused) {
      refused.delete(order.seq);
      if (refused.lowest === undefined) this.refused.delete(order.stream);
    }
    this.accepted(order);
    return new Promise((resolve, reject) => {
      this.events.push({ message, traced, bytes, resolve, reject, since: Date.now() });
      this.eventBytes += bytes;
      this.schedule(0);
    });
  }

  /** What was refused of `stream` needs no order kept any more (see Replicator.forgetRefused). */
  forgetRefused(stream: string): void {
    this.refused.delete(stream);
  }

  private refusedForNow({ stream, seq }: { stream: string; seq: number }): void {
    let refused = this.refused.get(stream);
    if (!refused) {
      if (this.refused.size >= MAX_TRACKED_STREAMS) return; // see MAX_TRACKED_STREAMS
      this.refused.set(stream, (refused = new RefusedSeqs()));
    }
    refused.add(seq);
  }

  private accepted({ stream, seq }: { stream: string; seq: number }): void {
    const highest = this.highestAccepted.get(stream);
    if (highest === undefined) {
      this.highestAccepted.set(stream, seq);
      if (this.highestAccepted.size > MAX_TRACKED_STREAMS)
        this.highestAccepted.delete(this.highestAccepted.keys().next().value!);
    } else if (seq > highest) {
      this.highestAccepted.set(stream, seq);
    }
  }

  publishLatest(topic: string, message: KafkaMessage): void {
    const bytes = sizeOf(message);
    if (bytes > this.options.maxRecordBytes) {
      this.options.onDropped?.(
        topic,
        `record of ${bytes} bytes is over the ${this.options.maxRecordBytes}-byte limit`,
      );
      return;
    }
    this.latest.set(`${topic}\u0000${message.key.toString("latin1")}`, { topic, message });
    this.schedule(0);
  }

  /** Stops retrying; what is still buffered is reported by the caller. */
  close(): void {
    this.closed = true;
    this.cancelScheduled?.();
  }

  /** Resolves once everything buffered now has been sent (or `timeoutMs` passed). */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const busy = () => this.events.length > 0 || this.latest.size > 0 || this.flushingSince !== undefined;
    while (busy() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.events.length === 0 && this.latest.size === 0;
  }

  /**
   * The next flush: after a back-off, or as soon as this turn of the event loop ends (setImmediate,
   * not setTimeout(0), which waits at least a millisecond: added to every cross-region delivery).
   * What else is published in the same turn still joins the batch.
   */
  private schedule(delayMs: number): void {
    if (this.flushingSince !== undefined || this.cancelScheduled || this.closed) return;
    const run = () => {
      this.cancelScheduled = undefined;
      void this.flush();
    };
    if (delayMs === 0) {
      const immediate = setImmediate(run);
      this.cancelScheduled = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(run, delayMs);
      this.cancelScheduled = () => clearTimeout(timer);
    }
  }

  private async flush(): Promise<void> {
    if (this.flushingSince !== undefined || this.closed) return;
    const batch = this.nextBatch();
    const count = batch.events.length + batch.latest.length;
    if (count === 0) return;
    this.flushingSince = Date.now();
    const ended = this.observe(batch, count);
    try {
      await this.options.send(toTopicBatches(this.options.eventsTopic, batch));
      ended?.();
      this.settle(batch, undefined);
      this.failures = 0;
      this.lastError = undefined;
    } catch (error) {
      ended?.(error);
      this.errors++;
      if (!isRecordFault(error)) {
        this.failures++;
        this.lastError = describeError(error);
      } else if (count > 1) {
        // One of these records is refused for good: find it by sending them one at a time.
        this.alone = {
          events: batch.events.length,
          latest: new Set(batch.latest.map(([key]) => key)),
        };
      } else {
        this.settle(batch, error);
      }
    } finally {
      this.flushingSince = undefined;
    }
    const pending = this.events.length > 0 || this.latest.size > 0;
    if (pending)
      this.schedule(this.failures === 0 ? 0 : Math.min(2000, 100 * 2 ** Math.min(this.failures, 5)));
  }

  private observe(batch: Batch, count: number): ((error?: unknown) => void) | undefined {
    if (!this.options.observeSend) return undefined;
    const links: SpanContext[] = [];
    for (const event of batch.events) if (event.traced) links.push(event.traced);
    return links.length > 0 ? this.options.observeSend(links, count) : undefined;
  }

  /** The head of the queue up to the byte budget; one record only while isolating a fault. */
  private nextBatch(): Batch {
    if (this.alone.events > 0 && this.events.length > 0) return { events: [this.events[0]!], latest: [] };
    this.alone.events = 0;
    for (const key of this.alone.latest) {
      const value = this.latest.get(key);
      if (value) return { events: [], latest: [[key, value]] };
      this.alone.latest.delete(key);
    }
    const batch: Batch = { events: [], latest: [] };
    let bytes = 0;
    const fits = (size: number) => bytes === 0 || bytes + size <= this.options.maxBatchBytes;
    for (const event of this.events) {
      const size = event.bytes + RECORD_OVERHEAD_BYTES;
      if (!fits(size)) return batch;
      batch.events.push(event);
      bytes += size;
    }
    for (const entry of this.latest) {
      const size = sizeOf(entry[1].message) + RECORD_OVERHEAD_BYTES;
      if (!fits(size)) return batch;
      batch.latest.push(entry);
      bytes += size;
    }
    return batch;
  }

  /** Takes a sent batch off the buffer: resolved, or (a lone record Kafka refused) failed. */
  private settle(batch: Batch, fault: unknown): void {
    this.events = this.events.slice(batch.events.length);
    if (this.alone.events > 0) this.alone.events -= batch.events.length;
    for (const event of batch.events) {
      this.eventBytes -= event.bytes;
      if (fault === undefined) event.resolve();
      else event.reject(refusedForGood(fault));
    }
    for (const [key, value] of batch.latest) {
      this.alone.latest.delete(key);
      // A newer value for a key may have arrived while sending: keep that one.
      if (this.latest.get(key) === value) this.latest.delete(key);
      if (fault !== undefined) this.options.onDropped?.(value.topic, describeError(fault));
    }
  }
}

function refusedForGood(fault: unknown): RegioError {
  const code = isTooLarge(fault) ? ErrorCode.PayloadTooLarge : ErrorCode.ReplicationFailed;
  return new RegioError(code, `Kafka refused the record: ${describeError(fault)}`, {
    retriable: false,
    cause: fault,
  });
}

function toTopicBatches(eventsTopic: string, batch: Batch): TopicBatch[] {
  const byTopic = new Map<string, KafkaMessage[]>();
  const add = (topic: string, message: KafkaMessage) => {
    const list = byTopic.get(topic);
    if (list) list.push(message);
    else byTopic.set(topic, [message]);
  };
  for (const event of batch.events) add(eventsTopic, event.message);
  for (const [, { topic, message }] of batch.latest) add(topic, message);
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
