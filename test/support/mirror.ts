import { randomUUID } from "node:crypto";
import { Kafka, logLevel, type Consumer, type Producer } from "kafkajs";
import { topicSpecs, type TopicNames } from "@regio/broker";
import { stopIdleRequestChecks } from "../../broker/src/internals/kafkajs.ts";

// As a node does (ADR 0018): without it each kafkajs connection here wakes this process every ms.
stopIdleRequestChecks();

/**
 * A stand-in for MirrorMaker 2 in tests: copies every record (keys, values, headers, tombstones)
 * of a region's topics on its cluster into another cluster as `<sourceRegion>.<topic>`, which is
 * MM2's default replication policy. Like MM2, it creates the target topics itself (compacted where
 * the source is); Regio's nodes never create another region's topics. The source topics must exist.
 */
export async function startMirror(options: {
  sourceRegion: string;
  source: string;
  target: string;
  topics: TopicNames;
}): Promise<{ close(): Promise<void> }> {
  const from = new Kafka({ clientId: "mirror", brokers: [options.source], logLevel: logLevel.NOTHING });
  const to = new Kafka({ clientId: "mirror", brokers: [options.target], logLevel: logLevel.NOTHING });
  const admin = to.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: topicSpecs(options.topics).map((spec) => ({
        topic: `${options.sourceRegion}.${spec.name}`,
        numPartitions: spec.partitions ?? 1,
        configEntries: spec.compacted ? [{ name: "cleanup.policy", value: "compact" }] : [],
      })),
    });
  } finally {
    await admin.disconnect();
  }
  const producer: Producer = to.producer({ allowAutoTopicCreation: false });
  const consumer: Consumer = from.consumer({ groupId: `mirror-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await producer.connect();
  await consumer.connect();
  const { events, membership, nodes } = options.topics;
  await consumer.subscribe({ topics: [events, membership, nodes], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      await producer.send({
        topic: `${options.sourceRegion}.${batch.topic}`,
        acks: -1,
        messages: batch.messages.map((m) => ({
          key: m.key,
          value: m.value,
          headers: Object.fromEntries(
            Object.entries(m.headers ?? {}).flatMap(([k, v]) =>
              v === undefined ? [] : [[k, v as Buffer | string]],
            ),
          ),
        })),
      });
    },
  });
  return {
    async close() {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
