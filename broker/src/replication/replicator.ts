import type {
  Broadcast,
  DisconnectSockets,
  ServerSideEmit,
  SocketsJoin,
  SocketsLeave,
} from "@regio/sdk/protocol";

/** Operations that cross nodes: what an app server asked one node to do for the whole hub. */
export type ReplicatedOperation = Broadcast | SocketsJoin | SocketsLeave | DisconnectSockets | ServerSideEmit;

/**
 * One record on the replication stream. Its identity is born in the SDK (`appServerId`, `seq`) and
 * never changes, so receivers can drop duplicates; `origin` says which node published it.
 */
export interface ReplicatedRecord {
  hub: string;
  origin: { region: string; nodeId: string };
  appServerId: string;
  seq: number;
  operation: ReplicatedOperation;
}

/**
 * The seam between a broker node and the other nodes of every region.
 *
 * Guarantees an implementation must give (the contract suite checks each):
 * - `publish` resolves only once the record is accepted: delivered to every other node (in-process)
 *   or durably appended (Kafka). A record that cannot be accepted yet is kept, bounded, and retried;
 *   it is never dropped silently.
 * - Every other node's handler receives each record at least once, and records of one app server in
 *   the order they were published.
 * - A node never receives its own records (the one-hop rule: records read from the stream are
 *   delivered locally and never published again; the node enforces that by having no path from its
 *   handler to `publish`).
 */
export interface Replicator {
  publish(record: ReplicatedRecord): Promise<void>;
  subscribe(handler: (record: ReplicatedRecord) => void): void;
  close(): Promise<void>;
}
