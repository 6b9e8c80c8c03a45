import type { ReplicatedRecord, Replicator } from "./replicator.ts";

/**
 * The in-process replication bus: several broker nodes in one process (tests, the single-node
 * default) replicate through it, in publish order (each delivery on its own microtask, so a
 * publisher never re-enters a receiver's stack). A node with a bus of its own
 * simply has nobody to replicate to.
 */
export class InProcessBus {
  private readonly members = new Map<string, InProcessReplicator>();

  connect(nodeId: string): Replicator {
    if (this.members.has(nodeId)) throw new Error(`node '${nodeId}' is already on this bus`);
    const replicator = new InProcessReplicator(nodeId, this);
    this.members.set(nodeId, replicator);
    return replicator;
  }

  /** @internal */
  deliver(record: ReplicatedRecord): void {
    for (const [nodeId, member] of this.members) {
      if (nodeId !== record.origin.nodeId) queueMicrotask(() => member.receive(record));
    }
  }

  /** @internal */
  leave(nodeId: string): void {
    this.members.delete(nodeId);
  }
}

class InProcessReplicator implements Replicator {
  private handler: ((record: ReplicatedRecord) => void) | undefined;

  constructor(
    private readonly nodeId: string,
    private readonly bus: InProcessBus,
  ) {}

  async publish(record: ReplicatedRecord): Promise<void> {
    this.bus.deliver(record);
  }

  subscribe(handler: (record: ReplicatedRecord) => void): void {
    this.handler = handler;
  }

  receive(record: ReplicatedRecord): void {
    this.handler?.(record);
  }

  async close(): Promise<void> {
    this.bus.leave(this.nodeId);
  }
}
