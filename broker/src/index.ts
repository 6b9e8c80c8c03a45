export { startBroker, type BrokerHandle, type BrokerOptions } from "./broker.ts";
export { InProcessBus } from "./replication/in-process.ts";
export type { Replicator, ReplicatedRecord, ReplicatedOperation } from "./replication/replicator.ts";
