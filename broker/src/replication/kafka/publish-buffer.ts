import { ErrorCode, RegioError } from "@regio/protocol";
import { sizeOf, type KafkaMessage } from "./record-codec.ts";

export interface TopicBatch {
  topic: string;
  messages: KafkaMessage[];
}

interface PendingEvent {
  message: KafkaMessage;
  bytes: number;
  resolve: () => void;
  since: number;
}

/** Events waiting longer than this mean Kafka is not taking writes: the node is not ready. */
const STALL_MS = 2000;

/**
 * What a node accepted but Kafka has not durably taken yet. Events keep their order and are bounded
 * in bytes: a full buffer refuses new events (the caller keeps them; the SDK re-sends), it never
 * drops accepted ones. Membership and heartbeats keep only the latest value per key (like the
 * compacted topics they go to), so they are bounded by the number of sockets and nodes.
 *
 * One batch is in flight at a time: a batch that fails is retried as a whole before anything after
 * it, so one app server's events reach Kafka in order (a retry may duplicate; receivers drop those).
 */
export class PublishBuffer {
  private events: PendingEvent[] = [];
  /** Per stream, the first event refused for lack of room: later ones wait behind it. */
  private readonly refused = new Map<string, number>();
  private eventBytes = 0;
  private latest = new Map<string, { topic: string; message: KafkaMessage }>();
  private flushing = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The last error Kafka gave, cleared by the next success. */
  lastError: string | undefined;

  constructor(
    private readonly send: (batches: TopicBatch[]) => Promise<void>,
    private readonly eventsTopic: string,
    private readonly maxBytes: number,
  ) {}

  get bufferedBytes(): number {
    return this.eventBytes;
  }

  get healthy(): boolean {
    const oldest = this.events[0];
    return this.lastError === undefined && (!oldest || Date.now() - oldest.since < STALL_MS);
  }

  /**
   * Accepts an event of an ordered stream (one app server's operations) or refuses it when the
   * buffer is full. Once a stream's event is refused, its later events are refused too until the
   * refused one comes again and is accepted: a stream never reaches Kafka with a hole in it.
   */
  publishEvent(message: KafkaMessage, order: { stream: string; seq: number }): Promise<void> {
    const bytes = sizeOf(message);
    const firstRefused = this.refused.get(order.stream);
    const full = this.eventBytes + bytes > this.maxBytes;
    if (full || (firstRefused !== undefined && order.seq > firstRefused)) {
      if (firstRefused === undefined || order.seq < firstRefused) this.refused.set(order.stream, order.seq);
      const waiting = `${this.eventBytes} bytes waiting for Kafka`;
      return Promise.reject(new RegioError(ErrorCode.LinkDown, `replication buffer is full (${waiting})`));
    }
    if (firstRefused === order.seq) this.refused.delete(order.stream);
    return new Promise((resolve) => {
      this.events.push({ message, bytes, resolve, since: Date.now() });
      this.eventBytes += bytes;
      this.schedule(0);
    });
  }

  publishLatest(topic: string, message: KafkaMessage): void {
    this.latest.set(`${topic}\u0000${message.key.toString("latin1")}`, { topic, message });
    this.schedule(0);
  }

  /** Stops retrying; what is still buffered is reported by the caller. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /** Resolves once everything buffered now has been sent (or `timeoutMs` passed). */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while ((this.events.length > 0 || this.latest.size > 0 || this.flushing) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.events.length === 0 && this.latest.size === 0;
  }

  private schedule(delayMs: number): void {
    if (this.flushing || this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.closed) return;
    const events = this.events.slice(0, 500);
    const latest = [...this.latest.entries()];
    if (events.length === 0 && latest.length === 0) return;
    this.flushing = true;
    const batches = new Map<string, KafkaMessage[]>();
    const add = (topic: string, message: KafkaMessage) => {
      const list = batches.get(topic);
      if (list) list.push(message);
      else batches.set(topic, [message]);
    };
    for (const event of events) add(this.eventsTopic, event.message);
    for (const [, { topic, message }] of latest) add(topic, message);
    try {
      await this.send([...batches].map(([topic, messages]) => ({ topic, messages })));
      this.events = this.events.slice(events.length);
      for (const event of events) {
        this.eventBytes -= event.bytes;
        event.resolve();
      }
      // A newer value for a key may have arrived while sending: keep that one.
      for (const [key, value] of latest) if (this.latest.get(key) === value) this.latest.delete(key);
      this.failures = 0;
      this.lastError = undefined;
    } catch (error) {
      this.failures++;
      this.lastError = error instanceof Error ? error.message : String(error);
    } finally {
      this.flushing = false;
    }
    const pending = this.events.length > 0 || this.latest.size > 0;
    if (pending)
      this.schedule(this.failures === 0 ? 0 : Math.min(2000, 100 * 2 ** Math.min(this.failures, 5)));
  }
}
