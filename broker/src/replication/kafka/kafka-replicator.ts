import { SpanKind } from "@opentelemetry/api";
import { MessagingAttribute, MessagingOperation, type NodeId, type StreamId } from "@regio/protocol";
import { Kafka, logLevel, type SASLOptions, type Producer } from "kafkajs";
import type { KafkaConnection } from "../../config.ts";
import { stopIdleRequestChecks } from "../../internals/kafkajs.ts";
import { LogThrottle } from "../../log-throttle.ts";
import type { Logger } from "../../logger.ts";
import { BrokerTracing, endSpan, kafkaAttributes } from "../../telemetry/broker-tracing.ts";
import type {
  ReplicatedRecord,
  ReplicationCounters,
  ReplicationHandlers,
  Replicator,
  ReplicatorStatus,
} from "../replicator.ts";
import type { MembershipRecord, NodeHeartbeat } from "../replicator.ts";
import { retryUntilDone } from "./backoff.ts";
import { describeError } from "./kafka-errors.ts";
import { kafkaLogCreator } from "./kafka-log.ts";
import { PublishBuffer } from "./publish-buffer.ts";
import { encodeEvent, encodeHeartbeat, encodeMembership } from "./record-codec.ts";
import { RecordIntake } from "./record-intake.ts";
import { entraTokenProvider, eventHubsResource } from "./entra-token.ts";
import { RecordSigner } from "./record-signature.ts";
import { RegionReader } from "./region-reader.ts";
import { ensureTopics, topicNames, type TopicNames } from "./topics.ts";

export interface KafkaReplicatorOptions {
  region: string;
  nodeId: NodeId;
  /** This region's Kafka: the node writes only here. */
  local: KafkaConnection;
  /** Every other region's Kafka, read directly (ignored when `mirrored`). */
  peers: Map<string, KafkaConnection>;
  /** Access keys: the first signs every record this node writes, any of them verifies what it reads. */
  accessKeys: readonly string[];
  /** Base topic names (default regio.events, regio.membership, regio.nodes). */
  topics?: Partial<TopicNames>;
  /**
   * MirrorMaker 2 layout: the other regions' topics are mirrored into the local cluster as
   * `<region>.<topic>`, and the node reads them there instead of from each region's Kafka.
   */
  mirrored?: boolean;
  /** Events accepted but not yet in Kafka, at most (default 64 MiB). */
  maxBufferBytes?: number;
  /** Bytes per write to Kafka, at most (default 900 000: under Kafka's and Event Hubs' 1 MB). */
  maxBatchBytes?: number;
  /** A larger record (key, value, headers) is refused at once (default 1 000 000). */
  maxRecordBytes?: number;
  /**
   * How far back events are read at start (default 120 s, socket.io's default recovery window): kept
   * for clients that come back (connection state recovery), delivered to no one.
   */
  recoveryWindowMs?: number;
  partitions?: number;
  replicationFactor?: number;
  /** How long start() waits for a peer region's view before going on without it (default 15 s). */
  peerCatchUpTimeoutMs?: number;
  log: Logger;
  /**
   * The node's tracing (default: off). Each traced event gets a "create" span whose context goes in
   * the record's headers; each write to Kafka with traced events in it, a "send" span linking them.
   */
  tracing?: BrokerTracing;
}

export const DEFAULT_MAX_BATCH_BYTES = 900_000;
export const DEFAULT_MAX_RECORD_BYTES = 1_000_000;

/**
 * Events are read from the node's start minus this: a record another node (maybe of another region,
 * with a slightly different clock) stamped just before our start may be read too, and a client of
 * this node may get a broadcast up to this much older than the node. Duplicates are dropped by the
 * sequence gate; a record stamped just after the start by a clock behind ours is not skipped.
 */
const CLOCK_SKEW_ALLOWANCE_MS = 1000;
const DEFAULT_RECOVERY_WINDOW_MS = 120_000;

/**
 * The Replicator over Kafka. Each region writes only its own events, membership and heartbeats to
 * its own cluster; every node reads its own region's topics and every other region's (directly, or
 * mirrored), one RegionReader per region. Every record it writes is signed; every record it reads
 * is verified (RecordIntake). Guarantees: see Replicator; order per app server comes from keying
 * events by app server id.
 *
 * Nothing Kafka does makes start() throw or the node exit: this region's set-up (topics, producer,
 * reading its view) is retried with backoff until it works, while status() says why the node is not
 * ready yet; other regions are read in the background, retried forever, and never make it not ready.
 */
export class KafkaReplicator implements Replicator {
  private readonly names: TopicNames;
  private readonly clients = new Map<KafkaConnection, Kafka>();
  private readonly signer: RecordSigner;
  private readonly stopping = new AbortController();
  private readonly throttle = new LogThrottle();
  private readonly tracing: BrokerTracing;
  private producer: Producer | undefined;
  private buffer: PublishBuffer | undefined;
  private own: RegionReader | undefined;
  private peers: RegionReader[] = [];
  private started = false;
  private phase = "not started";
  private setupProblem: string | undefined;
  private readsEventsFrom = Date.now();
  private writing = true;
  private watch: NodeJS.Timeout | undefined;

  constructor(private readonly options: KafkaReplicatorOptions) {
    this.names = topicNames(options.topics);
    this.signer = new RecordSigner(options.accessKeys);
    this.tracing = options.tracing ?? new BrokerTracing(undefined);
  }

  async start(handlers: ReplicationHandlers): Promise<void> {
    const { local, log, region } = this.options;
    const signal = this.stopping.signal;
    // Events published from here on are delivered; the recovery window before it is read as history.
    const liveFrom = Date.now() - CLOCK_SKEW_ALLOWANCE_MS;
    const readEventsFrom = liveFrom - (this.options.recoveryWindowMs ?? DEFAULT_RECOVERY_WINDOW_MS);
    this.readsEventsFrom = readEventsFrom;
    const kafka = this.client(local);
    const producer = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1 });
    this.producer = producer;
    this.buffer = new PublishBuffer({
      send: (batches) => producer.sendBatch({ topicMessages: batches, acks: -1 }).then(() => undefined),
      eventsTopic: this.names.events,
      maxBufferedBytes: this.options.maxBufferBytes ?? 64 * 1024 * 1024,
      maxBatchBytes: this.options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
      maxRecordBytes: this.options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
      observeSend: (links, records) => {
        const topic = this.names.events;
        const span = this.tracing.linked(`send ${topic}`, SpanKind.CLIENT, links, () => ({
          ...kafkaAttributes(topic, MessagingOperation.send, "send"),
          [MessagingAttribute.batchMessageCount]: records,
        }));
        return span && ((error?: unknown) => endSpan(span, error));
      },
      onDropped: (topic, reason) =>
        this.throttle.log(`dropped:${topic}`, (suppressed) =>
          log.error({ topic, reason, suppressed }, "Kafka refused a membership or heartbeat record; dropped"),
        ),
    });
    this.watch = setInterval(() => this.reportWriting(), 1000);
    this.watch.unref();

    await this.setUp("creating this region's topics", () =>
      ensureTopics(kafka, this.names, this.options.partitions ?? 1, this.options.replicationFactor ?? 1),
    );
    await this.setUp("connecting to this region's Kafka", () => producer.connect());
    if (signal.aborted) return;
    this.setupProblem = undefined;

    const intake = new RecordIntake({
      selfNodeId: this.options.nodeId,
      signer: this.signer,
      handlers,
      liveFrom,
      log: log.child({ component: "record-intake" }),
    });
    const reader = (from: string, topics: TopicNames, connection: KafkaConnection) =>
      new RegionReader({
        region: from,
        topics,
        kafka: this.client(connection),
        groupPrefix: `regio-${this.options.nodeId}`,
        readEventsFrom,
        intake,
        log,
      });
    this.own = reader(region, this.names, local);
    this.peers = [...this.options.peers].map(([peer, connection]) =>
      this.options.mirrored
        ? reader(peer, prefixed(this.names, peer), local)
        : reader(peer, this.names, connection),
    );
    for (const r of [this.own, ...this.peers]) r.start();

    this.phase = "reading this region's view";
    await Promise.race([this.own.caughtUp, aborted(signal)]);
    // Another region being unreachable must not keep this one from serving: wait a bounded time,
    // and not at all for a region found unreachable.
    this.phase = "reading the other regions' views";
    const timeout = this.options.peerCatchUpTimeoutMs ?? 15_000;
    await Promise.race([Promise.all(this.peers.map((p) => p.settled)), delay(timeout), aborted(signal)]);
    if (signal.aborted) return;
    const behind = this.peers.filter((p) => !p.status().caughtUp).map((p) => p.region);
    if (behind.length > 0) {
      log.warn(
        { regions: behind },
        "going on without these regions' views for now; reading them in the background",
      );
    }
    this.started = true;
  }

  publish(record: ReplicatedRecord): Promise<void> {
    if (!this.buffer) return Promise.reject(new Error("KafkaReplicator is not started"));
    const order = { stream: record.stream, seq: record.seq };
    const topic = this.names.events;
    // The record's own span: its context is what the readers continue (it goes in the headers).
    const created =
      record.trace &&
      this.tracing.hop(`create ${topic}`, SpanKind.PRODUCER, record.trace, () => ({
        ...kafkaAttributes(topic, MessagingOperation.create, "create"),
        [MessagingAttribute.messageId]: `${record.stream}/${record.seq}`,
        [MessagingAttribute.kafkaMessageKey]: record.stream,
      }));
    const message = this.signer.sign("events", encodeEvent(record, created ? created.trace : record.trace));
    created?.span?.end();
    return this.buffer.publishEvent(message, order, created?.span?.spanContext());
  }

  forgetRefused(stream: StreamId): void {
    this.buffer?.forgetRefused(stream);
  }

  publishMembership(record: MembershipRecord): void {
    this.buffer?.publishLatest(
      this.names.membership,
      this.signer.sign("membership", encodeMembership(record)),
    );
  }

  publishHeartbeat(heartbeat: NodeHeartbeat): void {
    this.buffer?.publishLatest(this.names.nodes, this.signer.sign("nodes", encodeHeartbeat(heartbeat)));
  }

  historyFrom(): number {
    return this.readsEventsFrom;
  }

  status(): ReplicatorStatus {
    const buffer = this.buffer;
    const own = this.own?.status();
    const peers: ReplicatorStatus["peers"] = {};
    for (const reader of this.peers) {
      const { reachable, lagMs, detail } = reader.status();
      peers[reader.region] = { reachable, lagMs, detail };
    }
    const ready =
      this.started &&
      buffer !== undefined &&
      buffer.healthy &&
      own !== undefined &&
      own.reachable &&
      own.caughtUp;
    let detail: string;
    if (ready) {
      const unread = Object.keys(peers).filter((r) => !peers[r]!.reachable);
      detail = "writing and reading this region's Kafka";
      if (unread.length > 0) detail += `; not reading ${unread.join(", ")} now (see peers)`;
    } else {
      const problems: string[] = [];
      if (!this.started)
        problems.push(`starting: ${this.phase}${this.setupProblem ? ` (${this.setupProblem})` : ""}`);
      if (buffer && !buffer.healthy) {
        problems.push(
          `cannot write to this region's Kafka: ${buffer.lastError ?? "writes are stalled"} (buffering)`,
        );
      }
      if (this.started && own && !(own.reachable && own.caughtUp))
        problems.push(`this region's Kafka: ${own.detail}`);
      detail = problems.join("; ");
    }
    return { ready, bufferedBytes: buffer?.bufferedBytes ?? 0, detail, peers };
  }

  counters(): ReplicationCounters {
    const counters: ReplicationCounters = {};
    for (const reader of [this.own, ...this.peers]) {
      if (reader) counters[reader.region] = reader.counters();
    }
    const own = (counters[this.options.region] ??= { errors: 0, reconnects: 0 });
    own.errors += this.buffer?.errors ?? 0;
    return counters;
  }

  async close(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.watch);
    const drained = (await this.buffer?.drain(5000)) ?? true;
    if (!drained) {
      this.options.log.error(
        { bufferedBytes: this.buffer?.bufferedBytes },
        "closing with records Kafka has not taken; their app servers still hold them and will re-send",
      );
    }
    this.buffer?.close();
    await Promise.allSettled([this.own, ...this.peers].map((reader) => reader?.close()));
    await this.producer?.disconnect().catch(() => {});
  }

  /** One step of this region's set-up, retried until it works (or the node closes). */
  private async setUp(phase: string, attempt: () => Promise<void>): Promise<void> {
    this.phase = phase;
    await retryUntilDone(attempt, this.stopping.signal, (error, retryInMs) => {
      this.setupProblem = describeError(error);
      this.throttle.log(`setup:${phase}`, (suppressed) =>
        this.options.log.warn(
          { err: this.setupProblem, retryInMs, suppressed },
          `not ready: ${phase}; retrying`,
        ),
      );
    });
  }

  /** Logs when writing to this region's Kafka stalls and when it works again, once each. */
  private reportWriting(): void {
    const healthy = this.buffer?.healthy ?? true;
    if (healthy === this.writing) return;
    this.writing = healthy;
    const { log } = this.options;
    if (healthy) log.info("writing to this region's Kafka again");
    else
      log.warn(
        { err: this.buffer?.lastError, bufferedBytes: this.buffer?.bufferedBytes },
        "cannot write to this region's Kafka; buffering",
      );
  }

  private client(connection: KafkaConnection): Kafka {
    let kafka = this.clients.get(connection);
    if (!kafka) {
      const log = this.options.log.child({ component: "kafka" });
      // Before any connection: kafkajs's idle connections would each wake the process every ms.
      if (!stopIdleRequestChecks()) log.warn("kafkajs changed: its idle request checks are left as they are");
      kafka = new Kafka({
        clientId: `regio-${this.options.nodeId}`,
        brokers: connection.brokers,
        ssl: connection.ssl,
        sasl: saslOf(connection),
        logLevel: logLevel.WARN,
        logCreator: kafkaLogCreator(log),
        retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
      });
      this.clients.set(connection, kafka);
    }
    return kafka;
  }
}

/** kafkajs's SASL settings for a cluster: PLAIN with a password, or OAUTHBEARER with a managed identity. */
function saslOf(connection: KafkaConnection): SASLOptions | undefined {
  if (connection.oauthBearer) {
    const provider = entraTokenProvider({
      resource: eventHubsResource(connection.brokers[0]!),
      clientId: connection.oauthBearer.clientId,
    });
    return { mechanism: "oauthbearer", oauthBearerProvider: provider };
  }
  return connection.sasl;
}

function prefixed(names: TopicNames, region: string): TopicNames {
  return {
    events: `${region}.${names.events}`,
    membership: `${region}.${names.membership}`,
    nodes: `${region}.${names.nodes}`,
  };
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
