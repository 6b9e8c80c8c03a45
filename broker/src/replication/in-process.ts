import type {
  MembershipRecord,
  NodeHeartbeat,
  ReplicatedRecord,
  ReplicationHandlers,
  Replicator,
  ReplicatorStatus,
} from "./replicator.ts";

/**
 * The in-process replication bus: broker nodes in one process (tests, a lone node) replicate
 * through it, in publish order, each delivery on its own microtask so that a publisher never
 * re-enters a receiver. It keeps the latest membership record per socket and the latest heartbeat
 * per node, like the compacted Kafka topics, so a node that joins later reads the current view.
 */
export class InProcessBus {
  /**
   * @param alone No other node will ever connect (a lone node's private bus): nothing is kept for
   * later members, so a lone node does not hold every socket's record a second time.
   */
  constructor(private readonly alone = false) {}

  private readonly members = new Map<string, InProcessReplicator>();
  private readonly membership = new Map<string, MembershipRecord>();
  private readonly heartbeats = new Map<string, NodeHeartbeat>();

  connect(nodeId: string): Replicator {
    if (this.members.has(nodeId)) throw new Error(`node '${nodeId}' is already on this bus`);
    if (this.alone && this.members.size > 0) throw new Error("a lone node's bus takes no other node");
    const replicator = new InProcessReplicator(nodeId, this);
    this.members.set(nodeId, replicator);
    return replicator;
  }

  /** @internal */
  joined(replicator: InProcessReplicator): void {
    for (const heartbeat of this.heartbeats.values())
      replicator.deliver("heartbeat", heartbeat, heartbeat.nodeId);
    for (const record of this.membership.values())
      replicator.deliver("membership", record, record.owner.nodeId);
  }

  /** @internal */
  broadcast<K extends keyof ReplicationHandlers>(
    kind: K,
    value: Parameters<ReplicationHandlers[K]>[0],
    from: string,
  ) {
    if (this.alone) return;
    if (kind === "membership") {
      const record = value as MembershipRecord;
      const key = `${record.hub}\u0000${record.nsp}\u0000${record.sid}`;
      if (record.snapshot) this.membership.set(key, record);
      else this.membership.delete(key);
    } else if (kind === "heartbeat") {
      const heartbeat = value as NodeHeartbeat;
      if (heartbeat.leaving) this.heartbeats.delete(heartbeat.nodeId);
      else this.heartbeats.set(heartbeat.nodeId, heartbeat);
    }
    for (const [nodeId, member] of this.members) if (nodeId !== from) member.deliver(kind, value, from);
  }

  /** @internal */
  leave(nodeId: string): void {
    this.members.delete(nodeId);
  }
}

class InProcessReplicator implements Replicator {
  private handlers: ReplicationHandlers | undefined;

  constructor(
    private readonly nodeId: string,
    private readonly bus: InProcessBus,
  ) {}

  async start(handlers: ReplicationHandlers): Promise<void> {
    this.handlers = handlers;
    this.bus.joined(this);
  }

  async publish(record: ReplicatedRecord): Promise<void> {
    this.bus.broadcast("record", record, this.nodeId);
  }

  publishMembership(record: MembershipRecord): void {
    this.bus.broadcast("membership", record, this.nodeId);
  }

  publishHeartbeat(heartbeat: NodeHeartbeat): void {
    this.bus.broadcast("heartbeat", heartbeat, this.nodeId);
  }

  status(): ReplicatorStatus {
    return { ready: true, bufferedBytes: 0, detail: "in-process", peers: {} };
  }

  async close(): Promise<void> {
    this.bus.leave(this.nodeId);
  }

  deliver<K extends keyof ReplicationHandlers>(
    kind: K,
    value: Parameters<ReplicationHandlers[K]>[0],
    from: string,
  ) {
    if (from === this.nodeId) return;
    queueMicrotask(() => (this.handlers?.[kind] as ((v: typeof value) => void) | undefined)?.(value));
  }
}
