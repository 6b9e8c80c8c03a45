import type { Kafka } from "kafkajs";

export interface TopicNames {
  /** Broadcasts and cluster-wide operations. */
  events: string;
  /** One compacted key per socket. */
  membership: string;
  /** One compacted key per node: heartbeats. */
  nodes: string;
}

export function topicNames(overrides: Partial<TopicNames> = {}): TopicNames {
  return {
    events: overrides.events ?? "regio.events",
    membership: overrides.membership ?? "regio.membership",
    nodes: overrides.nodes ?? "regio.nodes",
  };
}

/** Creates this region's topics if they are missing (managed Kafkas that pre-create them are fine). */
export async function ensureTopics(
  kafka: Kafka,
  names: TopicNames,
  partitions: number,
  replicationFactor: number,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const compacted = [{ name: "cleanup.policy", value: "compact" }];
    const wanted = [
      { topic: names.events, numPartitions: partitions, replicationFactor },
      { topic: names.membership, numPartitions: partitions, replicationFactor, configEntries: compacted },
      { topic: names.nodes, numPartitions: 1, replicationFactor, configEntries: compacted },
    ].filter((t) => !existing.has(t.topic));
    if (wanted.length > 0) await admin.createTopics({ topics: wanted, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}
