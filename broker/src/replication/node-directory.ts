import type { NodeHeartbeat } from "./replicator.ts";

/**
 * The nodes this node knows to be alive, from their heartbeats. A node is alive while its latest
 * heartbeat is younger than the lease; it is gone once the lease runs out or it says it is leaving.
 * Gone nodes are reported once, so their sockets can leave the membership view.
 */
export class NodeDirectory {
  private readonly nodes = new Map<string, NodeHeartbeat>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    /** This node's own heartbeat as of now. */
    private readonly self: () => NodeHeartbeat,
    private readonly leaseMs: number,
    private readonly onGone: (nodeId: string) => void,
    private readonly onJoined: (nodeId: string) => void = () => {},
  ) {
    this.timer = setInterval(() => this.expire(), Math.max(50, leaseMs / 4));
    this.timer.unref();
  }

  update(heartbeat: NodeHeartbeat): void {
    if (heartbeat.nodeId === this.self().nodeId) return;
    if (heartbeat.leaving) {
      if (this.nodes.delete(heartbeat.nodeId)) this.onGone(heartbeat.nodeId);
      return;
    }
    const known = this.nodes.get(heartbeat.nodeId);
    if (known && known.at > heartbeat.at) return;
    // A heartbeat read back from a log may be old news: a node that stopped long ago is not alive.
    if (Date.now() - heartbeat.at > this.leaseMs) return;
    this.nodes.set(heartbeat.nodeId, heartbeat);
    if (!known) this.onJoined(heartbeat.nodeId);
  }

  /** Alive, and (when given) in this incarnation: a restart under the same id is another node. */
  isAlive(nodeId: string, incarnation?: string): boolean {
    const node = this.get(nodeId);
    return node !== undefined && (incarnation === undefined || node.incarnation === incarnation);
  }

  /** This node and every live node, optionally of one region only. */
  list(region?: string): NodeHeartbeat[] {
    const all = [this.self(), ...this.nodes.values()];
    return region === undefined ? all : all.filter((node) => node.region === region);
  }

  get(nodeId: string): NodeHeartbeat | undefined {
    const self = this.self();
    return nodeId === self.nodeId ? self : this.nodes.get(nodeId);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private expire(): void {
    const deadline = Date.now() - this.leaseMs;
    for (const [nodeId, heartbeat] of this.nodes) {
      if (heartbeat.at < deadline) {
        this.nodes.delete(nodeId);
        this.onGone(nodeId);
      }
    }
  }
}
