import { NodeId } from "@regio/protocol";
import { uniqueTopics } from "../support/topics.ts";
import { describe, inject } from "vitest";
import { KafkaReplicator } from "../../broker/src/replication/kafka/kafka-replicator.ts";
import { createLogger } from "../../broker/src/logger.ts";
import type { KafkaConnection } from "../../broker/src/config.ts";
import { ACCESS_KEY } from "../support/regio-harness.ts";
import { replicatorContract } from "./contract.ts";

describe("Replicator contract: Kafka, one cluster per region", () => {
  const clusters = inject("kafka");
  const connection = (region: string): KafkaConnection => ({ brokers: [clusters[region]!], ssl: false });
  replicatorContract(() => {
    const topics = uniqueTopics("t");
    return {
      create: (nodeId, region = "eastus") =>
        new KafkaReplicator({
          region,
          nodeId: NodeId(nodeId),
          local: connection(region),
          peers: new Map(
            Object.keys(clusters)
              .filter((r) => r !== region)
              .map((r) => [r, connection(r)]),
          ),
          topics,
          accessKeys: [ACCESS_KEY],
          log: createLogger({ node: nodeId }, process.env.REGIO_LOG_LEVEL ?? "silent"),
        }),
    };
  }, ["eastus", "westeurope"]);
});
