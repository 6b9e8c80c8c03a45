import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { topicSpecs, type TopicNames } from "@regio/broker";
import { stopIdleRequestChecks } from "../../broker/src/internals/kafkajs.ts";
import { decodeEvent } from "../../broker/src/replication/kafka/record-codec.ts";

// As a node does (ADR 0018): without it each kafkajs connection here wakes this process every ms.
stopIdleRequestChecks();

/** Topic names of their own for one test: the Kafka clusters are shared by the whole run. */
export function uniqueTopics(prefix: string): { events: string; membership: string; nodes: string } {
  const base = `${prefix}${randomUUID().slice(0, 8)}`;
  return { events: `${base}.events`, membership: `${base}.membership`, nodes: `${base}.nodes` };
}

/**
 * Creates a region's topics on its Kafka as an operator (infra/) would, from `topicSpecs`, with
 * extra topic configs if given (e.g. a small `max.message.bytes` on the events topic).
 */
export async function provisionTopics(
  brokers: string,
  names: TopicNames,
  configs: Partial<Record<keyof TopicNames, Record<string, string>>> = {},
): Promise<void> {
  const admin = new Kafka({
    clientId: "test-provision",
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const kinds = Object.keys(names) as Array<keyof TopicNames>;
    await admin.createTopics({
      waitForLeaders: true,
      topics: topicSpecs(names).map((spec) => {
        const kind = kinds.find((k) => names[k] === spec.name)!;
        const entries = { ...(spec.compacted ? { "cleanup.policy": "compact" } : {}), ...configs[kind] };
        return {
          topic: spec.name,
          numPartitions: spec.partitions ?? 1,
          replicationFactor: 1,
          configEntries: Object.entries(entries).map(([name, value]) => ({ name, value })),
        };
      }),
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * The seqs of each stream's events in a region's events topic, in the order the log holds them
 * (a stream's events share a key, so one partition), once it holds at least `count` distinct ones
 * (a node may publish a copy of an event again: it counts once, and stays in the list).
 */
export async function streamsInLog(
  brokers: string,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<Map<string, number[]>> {
  const consumer = new Kafka({
    clientId: "test-log-reader",
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
  }).consumer({
    groupId: `test-log-reader-${randomUUID()}`,
    maxWaitTimeInMs: 100,
  });
  const streams = new Map<string, number[]>();
  const distinct = new Set<string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`${topic} holds ${distinct.size} events, not ${count}, after ${timeoutMs} ms`)),
        timeoutMs,
      );
      void consumer.run({
        eachMessage: async ({ message }) => {
          const event = decodeEvent(message.value, message.headers);
          if (!event) return;
          const seqs = streams.get(event.stream) ?? [];
          seqs.push(event.seq);
          streams.set(event.stream, seqs);
          distinct.add(`${event.stream}\u0000${event.seq}`);
          if (distinct.size >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return streams;
}
