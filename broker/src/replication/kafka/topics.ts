import type { Admin, Kafka } from "kafkajs";
import { kafkaErrorType } from "./kafka-errors.ts";

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

/** A topic the broker uses, as it must be provisioned (infra/ derives its topics from this). */
export interface TopicSpec {
  name: string;
  /** Compacted topics keep the latest record per key (membership, heartbeats); others are time-retained. */
  compacted: boolean;
  /** Partition count the broker creates it with when it creates it itself (null: the caller's choice). */
  partitions: number | null;
}

/** Every topic a region's nodes write and every other region's nodes read. */
export function topicSpecs(names: TopicNames): TopicSpec[] {
  return [
    { name: names.events, compacted: false, partitions: null },
    { name: names.membership, compacted: true, partitions: null },
    { name: names.nodes, compacted: true, partitions: 1 },
  ];
}

/** Every topic of a set of names (one region's). */
export function allTopics(names: TopicNames): string[] {
  return [names.events, names.membership, names.nodes];
}

/**
 * Creates this region's topics if they are missing (managed Kafkas that pre-create them are fine).
 * Only a node's own region's topics, on its own cluster: another region's topics are that region's
 * (or infra/'s, or MirrorMaker's) to create. Several nodes starting together race to create them:
 * TOPIC_ALREADY_EXISTS is success. Other errors reject; the caller retries.
 */
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
    const wanted = topicSpecs(names)
      .filter((spec) => !existing.has(spec.name))
      .map((spec) => ({
        topic: spec.name,
        numPartitions: spec.partitions ?? partitions,
        replicationFactor,
        configEntries: spec.compacted ? [{ name: "cleanup.policy", value: "compact" }] : [],
      }));
    if (wanted.length === 0) return;
    try {
      await admin.createTopics({ topics: wanted, waitForLeaders: true });
    } catch (error) {
      if (kafkaErrorType(error) !== "TOPIC_ALREADY_EXISTS") throw error;
    }
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** The topics of `names` that do not exist on the cluster `admin` talks to. */
export async function missingTopics(admin: Admin, names: readonly string[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  return names.filter((name) => !existing.has(name));
}
