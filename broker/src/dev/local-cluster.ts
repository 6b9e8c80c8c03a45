import { NodeId } from "@regio/protocol";
import type { ServerOptions as EngineOptions } from "engine.io";
import { startBroker, type BrokerHandle } from "../broker.ts";
import type { KafkaConnection } from "../config.ts";
import { createLogger } from "../logger.ts";
import { KafkaReplicator } from "../replication/kafka/kafka-replicator.ts";
import type { BrokerTelemetry } from "../telemetry/telemetry.ts";
import type { TopicNames } from "../replication/kafka/topics.ts";

export interface LocalClusterOptions {
  /** Access key(s), comma-separated: the first signs app-link tokens and records, any verifies. */
  accessKey: string;
  /** region name -> its Kafka's bootstrap address ("127.0.0.1:19092") */
  kafka: Record<string, string>;
  nodesPerRegion: number;
  /** First port; nodes take consecutive ports (0: any free port). */
  basePort?: number;
  topics?: Partial<TopicNames>;
  leaseMs?: number;
  maxBufferBytes?: number;
  /** How long recoverable events are kept for clients that come back (default 120 s). */
  recoveryWindowMs?: number;
  /** Read the other regions' topics mirrored into the own Kafka as `<region>.<topic>`. */
  mirrored?: boolean;
  cors?: EngineOptions["cors"];
  logLevel?: string;
  /** Each node's OpenTelemetry (default: tracing off, `/metrics` only). */
  telemetry?: (node: { nodeId: string; region: string }) => BrokerTelemetry | Promise<BrokerTelemetry>;
}

export interface LocalCluster {
  /** region -> its nodes */
  regions: Map<string, BrokerHandle[]>;
  all(): BrokerHandle[];
  close(): Promise<void>;
}

/** Several regions of several broker nodes in this process, each region on its own Kafka. */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const connection = (brokers: string): KafkaConnection => ({ brokers: [brokers], ssl: false });
  const regions = new Map<string, BrokerHandle[]>();
  const accessKeys = options.accessKey
    .split(",")
    .map((key) => key.trim())
    .filter(Boolean);
  let port = options.basePort ?? 0;
  try {
    for (const [region, brokers] of Object.entries(options.kafka)) {
      const peers = new Map(
        Object.entries(options.kafka)
          .filter(([other]) => other !== region)
          .map(([other, b]) => [other, connection(b)]),
      );
      const nodes: BrokerHandle[] = [];
      regions.set(region, nodes);
      for (let i = 1; i <= options.nodesPerRegion; i++) {
        const nodeId = NodeId(`${region}-${i}`);
        const logger = createLogger({ node: nodeId, region }, options.logLevel);
        const telemetry = await options.telemetry?.({ nodeId, region });
        const replicator = new KafkaReplicator({
          region,
          nodeId,
          local: connection(brokers),
          peers,
          topics: options.topics,
          accessKeys,
          maxBufferBytes: options.maxBufferBytes,
          recoveryWindowMs: options.recoveryWindowMs,
          mirrored: options.mirrored,
          log: logger,
          tracing: telemetry?.tracing,
        });
        nodes.push(
          await startBroker({
            accessKey: options.accessKey,
            port: port === 0 ? 0 : port++,
            region,
            nodeId,
            replicator,
            logger,
            leaseMs: options.leaseMs,
            cors: options.cors,
            recoveryWindowMs: options.recoveryWindowMs,
            telemetry,
          }),
        );
      }
    }
  } catch (error) {
    await Promise.allSettled([...regions.values()].flat().map((node) => node.close()));
    throw error;
  }
  const all = () => [...regions.values()].flat();
  return {
    regions,
    all,
    async close() {
      await Promise.allSettled(all().map((node) => node.close()));
    },
  };
}
