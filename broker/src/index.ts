export { startBroker, type BrokerHandle, type BrokerOptions } from "./broker.ts";
export { InProcessBus } from "./replication/in-process.ts";
export { RefusedForNow } from "./replication/replicator.ts";
export type { Replicator, ReplicatedRecord, ReplicatedOperation } from "./replication/replicator.ts";
export { KafkaReplicator, type KafkaReplicatorOptions } from "./replication/kafka/kafka-replicator.ts";
export { topicNames, topicSpecs, type TopicNames, type TopicSpec } from "./replication/kafka/topics.ts";
export { parseBrokerConfig, ConfigError, type BrokerConfig } from "./config.ts";
export { startLocalCluster, type LocalCluster, type LocalClusterOptions } from "./dev/local-cluster.ts";
export {
  startGlobalEndpoint,
  REGIONS_PATH,
  type GlobalEndpointHandle,
  type GlobalEndpointOptions,
} from "./global/global-endpoint.ts";
export { parseGlobalConfig, type GlobalConfig, type RegionSpec } from "./global/config.ts";
export type { RegionStatus, NodeStatus } from "./global/region-prober.ts";
export { createLogger, type Logger } from "./logger.ts";
export {
  createTelemetry,
  localTelemetry,
  telemetryFromEnv,
  type BrokerTelemetry,
  type TelemetryOptions,
} from "./telemetry/telemetry.ts";
export { parseOtelConfig, type OtelConfig } from "./telemetry/otel-config.ts";
