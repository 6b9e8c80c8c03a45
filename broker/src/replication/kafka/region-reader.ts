import { randomUUID } from "node:crypto";
import type { Consumer, EachBatchPayload, IMemberAssignment, Kafka } from "kafkajs";
import type { Logger } from "../../logger.ts";
import { Backoff, pause } from "./backoff.ts";
import { CatchUp } from "./catch-up.ts";
import { describeError, isConnectionError } from "./kafka-errors.ts";
import type { RecordIntake } from "./record-intake.ts";
import type { RecordKind } from "./record-signature.ts";
import { allTopics, missingTopics, type TopicNames } from "./topics.ts";

export interface RegionReaderOptions {
  region: string;
  /** The region's topics on `kafka`: its own cluster, or this one when mirrored (`<region>.<topic>`). */
  topics: TopicNames;
  kafka: Kafka;
  /** Consumer group ids begin with this (`regio-<nodeId>`). */
  groupPrefix: string;
  /** Events are read from this time on (ms since the epoch, by record timestamp). */
  readEventsFrom: number;
  intake: RecordIntake;
  log: Logger;
}

export interface RegionReaderStatus {
  /** Reading now: a consumer runs and the cluster answered within the last few seconds. */
  reachable: boolean;
  /** Has read the compacted topics up to where they ended when this reader first reached them. */
  caughtUp: boolean;
  /** Age of the newest record read, ms (the region's heartbeats keep it small while it is well). */
  lagMs?: number;
  detail: string;
}

/** No answer from the cluster for this long: it is unreachable (a fetch waits at most 100 ms). */
const SILENCE_MS = 5000;
/** How long close() waits for the consumer to leave its group. */
const CLOSE_TIMEOUT_MS = 5000;

/**
 * Reads one region's topics (events, membership, heartbeats) for as long as the node runs, whatever
 * the cluster does: every failure (the cluster down, hung, electing leaders, a kafkajs consumer
 * crash) ends the current consumer, and a new one is set up after a backoff, forever.
 *
 * It reads from where it left off: it keeps the next offset of every partition itself and seeks
 * each new consumer there, so nothing is skipped across crashes and restarts (a record may be read
 * twice; the sequence gate drops it). Events are read from the node's start time on (by record
 * timestamp), not from "latest when first reached": a region that was down when this node started,
 * and publishes what it buffered when it returns, is read completely. Membership and heartbeats are
 * read from the beginning (compacted: the current view).
 *
 * Each consumer joins a group of its own (a fresh id per set-up): a group left behind by a consumer
 * that could not leave it (its cluster was down) would hold the next join until its session ran out.
 */
export class RegionReader {
  /** topic -> partition -> next offset to read */
  private readonly positions = new Map<string, Map<number, string>>();
  private readonly kinds: Map<string, RecordKind>;
  private readonly catchUp = new CatchUp();
  private eventsPositioned = false;
  private catchUpExpected = false;
  private isCaughtUp = false;
  /** The consumer that runs now, if any. */
  private consumer: Consumer | undefined;
  private lastAnswerAt: number | undefined;
  private newestRecordAt: number | undefined;
  private phase = "connecting";
  private problem: string | undefined;
  private reported: boolean | undefined;
  private readonly stop = new AbortController();
  private readonly backoff = new Backoff();
  /** Failures so far, and consumers set up again after one (for metrics). */
  private errors = 0;
  private reconnects = 0;
  private watch: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private markSettled: () => void = () => {};
  private markAnswered: () => void = () => {};
  /** The first answer of a consumer of this reader: it is subscribed and fetching. */
  private readonly firstAnswer = new Promise<void>((resolve) => (this.markAnswered = resolve));
  /**
   * Resolves once caught up, or once there is nothing to wait for: the cluster is unreachable, or
   * the region's topics do not exist yet (the bounded wait at start).
   */
  readonly settled = new Promise<void>((resolve) => (this.markSettled = resolve));
  /** Resolves once caught up with the compacted topics (and fetching). */
  readonly caughtUp: Promise<void>;

  constructor(private readonly options: RegionReaderOptions) {
    const { topics } = options;
    this.kinds = new Map<string, RecordKind>([
      [topics.events, "events"],
      [topics.membership, "membership"],
      [topics.nodes, "nodes"],
    ]);
    this.caughtUp = Promise.all([this.catchUp.done, this.firstAnswer]).then(() => {
      this.isCaughtUp = true;
      this.markSettled();
    });
  }

  get region(): string {
    return this.options.region;
  }

  start(): void {
    this.running ??= this.run();
    this.watch = setInterval(() => this.reportReachability(), 1000);
    this.watch.unref();
  }

  status(): RegionReaderStatus {
    const now = Date.now();
    const reachable =
      this.consumer !== undefined && this.lastAnswerAt !== undefined && now - this.lastAnswerAt < SILENCE_MS;
    const lagMs = this.newestRecordAt === undefined ? undefined : Math.max(0, now - this.newestRecordAt);
    let detail: string;
    if (reachable) detail = this.isCaughtUp ? "reading" : "reading (catching up)";
    else if (this.problem !== undefined) detail = `not reading: ${this.problem}`;
    else if (this.lastAnswerAt !== undefined) {
      detail = `not reading: no answer for ${Math.round((now - this.lastAnswerAt) / 1000)} s`;
    } else detail = `not reading yet: ${this.phase}`;
    return { reachable, caughtUp: this.isCaughtUp, lagMs, detail };
  }

  counters(): { errors: number; reconnects: number } {
    return { errors: this.errors, reconnects: this.reconnects };
  }

  async close(): Promise<void> {
    this.stop.abort();
    clearInterval(this.watch);
    await this.running;
  }

  private async run(): Promise<void> {
    const signal = this.stop.signal;
    let first = true;
    while (!signal.aborted) {
      if (!first) this.reconnects++;
      first = false;
      const consumer = this.newConsumer();
      let onAbort = () => {};
      const crashed = new Promise<unknown>((resolve) => {
        consumer.on(consumer.events.CRASH, (event) => resolve(event.payload.error));
        onAbort = () => resolve(undefined);
        signal.addEventListener("abort", onAbort, { once: true });
      });
      try {
        await this.prepare();
        this.phase = "joining a consumer group";
        await consumer.connect();
        await consumer.subscribe({ topics: allTopics(this.options.topics), fromBeginning: true });
        if (signal.aborted) break;
        await consumer.run({ autoCommit: false, eachBatch: (payload) => this.read(payload) });
        this.consumer = consumer;
        const error = await crashed;
        if (error !== undefined) this.fail(error);
      } catch (error) {
        this.fail(error);
      } finally {
        signal.removeEventListener("abort", onAbort);
        this.consumer = undefined;
        // Not waited for while running: leaving the group of a hung cluster can take a request timeout.
        const left = consumer.disconnect().catch(() => {});
        if (signal.aborted) await Promise.race([left, delay(CLOSE_TIMEOUT_MS)]);
      }
      await pause(this.backoff.next(), signal);
    }
  }

  private newConsumer(): Consumer {
    const consumer = this.options.kafka.consumer({
      groupId: `${this.options.groupPrefix}-${randomUUID()}`,
      maxWaitTimeInMs: 100,
      // A crash ends this consumer; run() sets up a new one (new group, our own positions).
      retry: { retries: 5, restartOnFailure: async () => false },
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) =>
      this.seekToPositions(consumer, event.payload.memberAssignment),
    );
    consumer.on(consumer.events.FETCH, () => this.answered());
    return consumer;
  }

  /** What a consumer needs before it starts: the topics, and (once) where to start and catch up to. */
  private async prepare(): Promise<void> {
    const { kafka, topics, readEventsFrom } = this.options;
    this.phase = "connecting";
    const admin = kafka.admin();
    await admin.connect();
    try {
      this.phase = "looking for the region's topics";
      const missing = await missingTopics(admin, allTopics(topics));
      // Never created here: they are the region's own (or infra/'s, or MirrorMaker's) to create.
      // A region without topics has no view to wait for yet (its records will be read from the
      // node's start on, once they exist).
      if (missing.length > 0) {
        this.markSettled();
        throw new Error(`waiting for topics to exist: ${missing.join(", ")}`);
      }
      if (!this.eventsPositioned) {
        const offsets = await admin.fetchTopicOffsetsByTimestamp(topics.events, readEventsFrom);
        this.positions.set(topics.events, new Map(offsets.map((o) => [o.partition, o.offset])));
        this.eventsPositioned = true;
      }
      if (!this.catchUpExpected) {
        const membership = await admin.fetchTopicOffsets(topics.membership);
        const nodes = await admin.fetchTopicOffsets(topics.nodes);
        this.catchUp.expect(topics.membership, membership);
        this.catchUp.expect(topics.nodes, nodes);
        this.catchUpExpected = true;
      }
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  /** Each new consumer (and each rejoin) starts where this reader left off. */
  private seekToPositions(consumer: Consumer, assignment: IMemberAssignment): void {
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const offset = this.positions.get(topic)?.get(partition);
        if (offset === undefined) continue;
        try {
          consumer.seek({ topic, partition, offset });
        } catch (error) {
          this.options.log.warn({ topic, partition, err: describeError(error) }, "cannot seek");
        }
      }
    }
  }

  private async read({ batch, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const kind = this.kinds.get(topic);
    if (!kind) return;
    let partitions = this.positions.get(topic);
    if (!partitions) this.positions.set(topic, (partitions = new Map()));
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      this.options.intake.accept(kind, topic, partition, message);
      partitions.set(partition, String(BigInt(message.offset) + 1n));
      this.catchUp.consumed(topic, partition, message.offset);
      const timestamp = Number(message.timestamp);
      if (this.newestRecordAt === undefined || timestamp > this.newestRecordAt)
        this.newestRecordAt = timestamp;
    }
    this.answered();
  }

  private answered(): void {
    this.markAnswered();
    this.lastAnswerAt = Date.now();
    this.problem = undefined;
    this.backoff.reset();
  }

  private fail(error: unknown): void {
    if (this.stop.signal.aborted) return;
    this.errors++;
    this.problem = describeError(error);
    if (isConnectionError(error)) this.markSettled();
  }

  /** Logs each change of reachability once, not every retry. */
  private reportReachability(): void {
    const { reachable, detail } = this.status();
    if (reachable === this.reported) return;
    // Not yet reached and no failure yet: still connecting, nothing to report.
    if (!reachable && this.reported === undefined && this.problem === undefined) return;
    this.reported = reachable;
    const { log, region } = this.options;
    if (reachable) log.info({ region }, `reading region ${region}'s Kafka`);
    else log.warn({ region, detail }, `cannot read region ${region}'s Kafka; retrying`);
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
