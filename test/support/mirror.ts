import { randomUUID } from "node:crypto";
import { Kafka, logLevel, type Consumer, type Producer } from "kafkajs";

/**
 * A stand-in for MirrorMaker 2 in tests: copies every record (keys, values, headers, tombstones)
 * of some topics of one cluster into another cluster as `<sourceRegion>.<topic>`, which is MM2's
 * default replication policy. The target topics must exist (Regio's nodes create them).
 */
export async function startMirror(options: {
  sourceRegion: string;
  source: string;
  target: string;
  topics: string[];
}): Promise<{ close(): Promise<void> }> {
  const from = new Kafka({ clientId: "mirror", brokers: [options.source], logLevel: logLevel.NOTHING });
  const to = new Kafka({ clientId: "mirror", brokers: [options.target], logLevel: logLevel.NOTHING });
  const producer: Producer = to.producer({ allowAutoTopicCreation: false });
  const consumer: Consumer = from.consumer({ groupId: `mirror-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: options.topics, fromBeginning: true });
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
