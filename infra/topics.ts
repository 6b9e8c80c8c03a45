import { topicNames, topicSpecs } from "@regio/broker";

/** A Kafka topic (an event hub) as this program provisions it in each region's namespace. */
export interface ProvisionedTopic {
  name: string;
  /** Key-based retention: the broker keeps one live record per socket / per node in these. */
  compacted: boolean;
  partitions: number;
}

/**
 * Exactly the topics the broker uses, taken from the broker's own definitions (`topicSpecs` with
 * its default names, which is what the nodes run with: the program sets no REGIO_TOPIC_*), so the
 * two cannot drift. They are created here rather than by the nodes because compaction is an event
 * hub property that a Kafka client cannot choose on Event Hubs, and because a node only ever has
 * read rights on other regions' namespaces.
 *
 * `defaultPartitions` applies where the broker leaves the count to the operator; a topic whose
 * count the broker fixes (heartbeats: one partition) keeps it.
 */
export function brokerTopics(defaultPartitions: number): ProvisionedTopic[] {
  return topicSpecs(topicNames()).map((spec) => ({
    name: spec.name,
    compacted: spec.compacted,
    partitions: spec.partitions ?? defaultPartitions,
  }));
}
