import { randomUUID } from "node:crypto";
import { Kafka, logLevel, type Consumer, type EachBatchPayload, type LogEntry, type Producer } from "kafkajs";
import type { KafkaConnection } from "../../config.ts";
import { LogThrottle } from "../../log-throttle.ts";
import type { Logger } from "../../logger.ts";
import type { ReplicatedRecord, ReplicationHandlers, Replicator, ReplicatorStatus } from "../replicator.ts";
import type { MembershipRecord, NodeHeartbeat } from "../replicator.ts";
import { CatchUp } from "./catch-up.ts";
import { PublishBuffer } from "./publish-buffer.ts";
import {
  decodeEvent,
  decodeHeartbeat,
  decodeMembership,
  encodeEvent,
  encodeHeartbeat,
  encodeMembership,
} from "./record-codec.ts";
import { ensureTopics, topicNames, type TopicNames } from "./topics.ts";

export interface KafkaReplicatorOptions {
  region: string;
  nodeId: string;
  /** This region's Kafka: the node writes only here. */
  local: KafkaConnection;
  /** Every other region's Kafka, read directly (ignored when `mirrored`). */
  peers: Map<string, KafkaConnection>;
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
  partitions?: number;
  replicationFactor?: number;
  /** How long start() waits for a peer region's view before going on without it (default 15 s). */
  peerCatchUpTimeoutMs?: number;
  log: Logger;
}

export const DEFAULT_MAX_BATCH_BYTES = 900_000;
export const DEFAULT_MAX_RECORD_BYTES = 1_000_000;

/** One cluster the node reads, and which topic names there belong to which region. */
interface Source {
  region: string;
  connection: KafkaConnection;
  topics: TopicNames;
}

/**
 * The Replicator over Kafka. Each region writes only its own events, membership and heartbeats to
 * its own cluster; every node reads its own region's topics and every other region's (directly, or
 * mirrored). Each node reads with a consumer group of its own, so every node sees every record.
 * Guarantees: see Replicator; order per app server comes from keying events by app server id.
 */
export class KafkaReplicator implements Replicator {
  private readonly names: TopicNames;
  private readonly clients = new Map<KafkaConnection, Kafka>();
  private producer: Producer | undefined;
  private buffer: PublishBuffer | undefined;
  private readonly consumers: Consumer[] = [];
  private started = false;
  private readonly consumerProblems = new Map<string, string>();
  private readonly throttle = new LogThrottle();

  constructor(private readonly options: KafkaReplicatorOptions) {
    this.names = topicNames(options.topics);
  }

  async start(handlers: ReplicationHandlers): Promise<void> {
    const { local, log } = this.options;
    const kafka = this.client(local);
    await ensureTopics(kafka, this.names, this.options.partitions ?? 1, this.options.replicationFactor ?? 1);
    this.producer = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1 });
    await this.producer.connect();
    const producer = this.producer;
    this.buffer = new PublishBuffer({
      send: (batches) => producer.sendBatch({ topicMessages: batches, acks: -1 }).then(() => undefined),
      eventsTopic: this.names.events,
      maxBufferedBytes: this.options.maxBufferBytes ?? 64 * 1024 * 1024,
      maxBatchBytes: this.options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
      maxRecordBytes: this.options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
      onDropped: (topic, reason) =>
        this.throttle.log(`dropped:${topic}`, (suppressed) =>
          log.error({ topic, reason, suppressed }, "Kafka refused a membership or heartbeat record; dropped"),
        ),
    });
    const sources = this.sources();
    const localSources = sources.filter((s) => s.connection === local);
    const remoteSources = sources.filter((s) => s.connection !== local);
    await Promise.all(this.groupByCluster(localSources).map((group) => this.consume(group, handlers)));
    // Another region being unreachable must not keep this one from serving: wait a bounded time.
    const peers = Promise.all(
      this.groupByCluster(remoteSources).map((group) => this.consume(group, handlers)),
    );
    const timeout = this.options.peerCatchUpTimeoutMs ?? 15_000;
    const caughtUp = await Promise.race([peers.then(() => true), delay(timeout).then(() => false)]);
    if (!caughtUp) log.warn({ timeoutMs: timeout }, "a peer region's view is not complete yet; going on");
    this.started = true;
  }

  publish(record: ReplicatedRecord): Promise<void> {
    if (!this.buffer) return Promise.reject(new Error("KafkaReplicator is not started"));
    const order = { stream: record.appServerId, seq: record.seq };
    return this.buffer.publishEvent(encodeEvent(record), order);
  }

  publishMembership(record: MembershipRecord): void {
    this.buffer?.publishLatest(this.names.membership, encodeMembership(record));
  }

  publishHeartbeat(heartbeat: NodeHeartbeat): void {
    this.buffer?.publishLatest(this.names.nodes, encodeHeartbeat(heartbeat));
  }

  status(): ReplicatorStatus {
    const buffer = this.buffer;
    const problems = [...this.consumerProblems.values()];
    if (buffer && !buffer.healthy) {
      problems.unshift(`cannot write to Kafka: ${buffer.lastError ?? "writes are stalled"} (buffering)`);
    }
    return {
      ready: this.started && buffer !== undefined && buffer.healthy && this.consumerProblems.size === 0,
      bufferedBytes: buffer?.bufferedBytes ?? 0,
      detail: problems.length > 0 ? problems.join("; ") : "kafka ok",
    };
  }

  async close(): Promise<void> {
    const drained = (await this.buffer?.drain(5000)) ?? true;
    if (!drained) {
      this.options.log.error(
        { bufferedBytes: this.buffer?.bufferedBytes },
        "closing with records Kafka has not taken; their app servers still hold them and will re-send",
      );
    }
    this.buffer?.close();
    await Promise.allSettled(this.consumers.map((consumer) => consumer.disconnect()));
    await this.producer?.disconnect().catch(() => {});
  }

  private sources(): Source[] {
    const { region, local, peers, mirrored } = this.options;
    const own: Source = { region, connection: local, topics: this.names };
    if (mirrored) {
      const regions = [...peers.keys()];
      return [
        own,
        ...regions.map((r) => ({ region: r, connection: local, topics: prefixed(this.names, r) })),
      ];
    }
    return [own, ...[...peers].map(([r, connection]) => ({ region: r, connection, topics: this.names }))];
  }

  private groupByCluster(sources: Source[]): Source[][] {
    const groups = new Map<KafkaConnection, Source[]>();
    for (const source of sources)
      groups.set(source.connection, [...(groups.get(source.connection) ?? []), source]);
    return [...groups.values()];
  }

  /** One consumer per cluster, its own group, reading the given regions' topics there. */
  private async consume(sources: Source[], handlers: ReplicationHandlers): Promise<void> {
    const connection = sources[0]!.connection;
    const kafka = this.client(connection);
    const label = sources.map((s) => s.region).join(",");
    // A group of its own per node and start: every node reads everything, and a restarted node does
    // not replay old broadcasts to clients that connected after them.
    const consumer = kafka.consumer({
      groupId: `regio-${this.options.nodeId}-${randomUUID()}`,
      maxWaitTimeInMs: 100,
    });
    this.consumers.push(consumer);
    consumer.on(consumer.events.CRASH, (event) => {
      this.consumerProblems.set(label, `cannot read from Kafka of ${label}: ${String(event.payload.error)}`);
    });
    consumer.on(consumer.events.FETCH, () => this.consumerProblems.delete(label));
    // "Latest" offsets are fixed at the consumer's first fetch: until then, a record published now
    // could fall before them and be missed. start() waits for that fetch.
    const firstFetch = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.FETCH, () => {
        off();
        resolve();
      });
    });
    await consumer.connect();
    // Another region's topics (on its cluster, or mirrored here) may not exist yet: create them so
    // reading can begin (with read-only credentials this fails: pre-create them, as infra/ does).
    for (const source of sources.filter((s) => s.region !== this.options.region)) {
      await ensureTopics(
        kafka,
        source.topics,
        this.options.partitions ?? 1,
        this.options.replicationFactor ?? 1,
      );
    }
    const kinds = new Map<string, "events" | "membership" | "nodes">();
    const catchUp = new CatchUp();
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const source of sources) {
        kinds.set(source.topics.events, "events");
        kinds.set(source.topics.membership, "membership");
        kinds.set(source.topics.nodes, "nodes");
        for (const topic of [source.topics.membership, source.topics.nodes]) {
          catchUp.expect(topic, await admin.fetchTopicOffsets(topic));
        }
        await consumer.subscribe({
          topics: [source.topics.membership, source.topics.nodes],
          fromBeginning: true,
        });
        await consumer.subscribe({ topics: [source.topics.events], fromBeginning: false });
      }
    } finally {
      await admin.disconnect();
    }
    const self = this.options.nodeId;
    await consumer.run({
      eachBatch: async ({ batch }: EachBatchPayload) => {
        const kind = kinds.get(batch.topic);
        for (const message of batch.messages) {
          try {
            if (kind === "events") {
              const record = decodeEvent(message.value, message.headers);
              if (record && record.origin.nodeId !== self) handlers.record(record);
            } else if (kind === "membership") {
              const record = decodeMembership(message.key, message.value, message.headers);
              if (record && record.owner.nodeId !== self) handlers.membership(record);
            } else if (kind === "nodes") {
              const heartbeat = decodeHeartbeat(message.key, message.value);
              if (heartbeat && heartbeat.nodeId !== self) handlers.heartbeat(heartbeat);
            }
          } catch (error) {
            this.options.log.warn(
              { topic: batch.topic, offset: message.offset, err: String(error) },
              "bad record skipped",
            );
          }
          catchUp.consumed(batch.topic, batch.partition, message.offset);
        }
      },
    });
    await Promise.all([catchUp.done, firstFetch]);
  }

  private client(connection: KafkaConnection): Kafka {
    let kafka = this.clients.get(connection);
    if (!kafka) {
      const log = this.options.log.child({ component: "kafka" });
      kafka = new Kafka({
        clientId: `regio-${this.options.nodeId}`,
        brokers: connection.brokers,
        ssl: connection.ssl,
        sasl: connection.sasl,
        logLevel: logLevel.WARN,
        logCreator:
          () =>
          ({ level, log: entry }: LogEntry) =>
            level <= logLevel.ERROR
              ? log.warn({ kafka: entry.message })
              : log.debug({ kafka: entry.message }),
        retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
      });
      this.clients.set(connection, kafka);
    }
    return kafka;
  }
}

function prefixed(names: TopicNames, region: string): TopicNames {
  return {
    events: `${region}.${names.events}`,
    membership: `${region}.${names.membership}`,
    nodes: `${region}.${names.nodes}`,
  };
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
