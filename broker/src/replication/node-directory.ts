import type { NodeId } from "@regio/protocol";
import type { HeartbeatPolicy } from "./heartbeat-policy.ts";
import type { NodeHeartbeat } from "./replicator.ts";

/** How a node left: its lease ran out (it may be heard again: paused, partitioned), or it said so. */
export type GoneHow = "expired" | "left";

export interface NodeDirectoryOptions {
  /** This node's own heartbeat as of now. */
  self(): NodeHeartbeat;
  leaseMs: number;
  /** Which heartbeats to believe at all. */
  policy: HeartbeatPolicy;
  onGone(nodeId: NodeId, how: GoneHow): void;
  /** A node not known (or gone) before is alive: a new one, or one heard again. */
  onJoined(heartbeat: NodeHeartbeat): void;
  /** A heartbeat the policy refused. */
  onRejected(heartbeat: NodeHeartbeat, reason: string): void;
}

/**
 * The nodes this node knows to be alive, from their heartbeats. A node is alive while its latest
 * heartbeat is younger than the lease; it is gone once the lease runs out or it says it is leaving.
 * Gone nodes are reported once, so their sockets can leave the membership view; a node heard again
 * after its lease ran out is reported as joined again.
 */
export class NodeDirectory {
  private readonly nodes = new Map<NodeId, NodeHeartbeat>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: NodeDirectoryOptions) {
    this.timer = setInterval(() => this.expire(), Math.max(50, options.leaseMs / 4));
    this.timer.unref();
  }

  update(heartbeat: NodeHeartbeat): void {
    if (heartbeat.nodeId === this.options.self().nodeId) return;
    const rejected = this.options.policy.reject(heartbeat);
    if (rejected !== undefined) {
      this.options.onRejected(heartbeat, rejected);
      return;
    }
    const known = this.nodes.get(heartbeat.nodeId);
    if (heartbeat.leaving) {
      // Only the start that is alive can say it leaves: a goodbye of an earlier start (replayed, or
      // read late from the log) does not remove the node's current start.
      if (known && known.incarnation === heartbeat.incarnation) {
        this.nodes.delete(heartbeat.nodeId);
        this.options.onGone(heartbeat.nodeId, "left");
      }
      return;
    }
    if (known && known.at > heartbeat.at) return;
    // A heartbeat read back from a log may be old news: a node that stopped long ago is not alive.
    if (Date.now() - heartbeat.at > this.options.leaseMs) return;
    this.nodes.set(heartbeat.nodeId, heartbeat);
    if (!known) this.options.onJoined(heartbeat);
  }

  /** Alive, and (when given) in this incarnation: a restart under the same id is another node. */
  isAlive(nodeId: NodeId, incarnation?: string): boolean {
    const node = this.get(nodeId);
    return node !== undefined && (incarnation === undefined || node.incarnation === incarnation);
  }

  /** This node and every live node, optionally of one region only. */
  list(region?: string): NodeHeartbeat[] {
    const all = [this.options.self(), ...this.nodes.values()];
    return region === undefined ? all : all.filter((node) => node.region === region);
  }

  get(nodeId: NodeId): NodeHeartbeat | undefined {
    const self = this.options.self();
    return nodeId === self.nodeId ? self : this.nodes.get(nodeId);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private expire(): void {
    const deadline = Date.now() - this.options.leaseMs;
    for (const [nodeId, heartbeat] of this.nodes) {
      if (heartbeat.at < deadline) {
        this.nodes.delete(nodeId);
        this.options.onGone(nodeId, "expired");
      }
    }
  }
}
