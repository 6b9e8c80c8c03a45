import type { NodeId } from "@regio/protocol";
import { HEALTH_PATH } from "@regio/protocol";

/**
 * Round-trip times from this node to the other nodes it knows, measured by probing their health
 * endpoint now and then. "Nearest" for a relayed client session means the lowest of these.
 */
export class PeerLatency {
  private readonly rtts = new Map<NodeId, number>();
  private readonly timer: NodeJS.Timeout;
  private probing = false;

  constructor(
    private readonly peers: () => Array<{ nodeId: NodeId; url: string }>,
    intervalMs = 5000,
    private readonly timeoutMs = 1000,
  ) {
    this.timer = setInterval(() => void this.probeAll(), intervalMs);
    this.timer.unref();
    void this.probeAll();
  }

  /** Last measured round-trip time in ms; Infinity when not measured or not answering. */
  rtt(nodeId: NodeId): number {
    return this.rtts.get(nodeId) ?? Infinity;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async probeAll(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      const peers = this.peers();
      const known = new Set(peers.map((peer) => peer.nodeId));
      for (const nodeId of this.rtts.keys()) if (!known.has(nodeId)) this.rtts.delete(nodeId);
      await Promise.all(peers.map((peer) => this.probe(peer)));
    } finally {
      this.probing = false;
    }
  }

  private async probe(peer: { nodeId: NodeId; url: string }): Promise<void> {
    const started = performance.now();
    try {
      const response = await fetch(new URL(HEALTH_PATH, peer.url), {
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await response.arrayBuffer();
      this.rtts.set(peer.nodeId, response.ok ? performance.now() - started : Infinity);
    } catch {
      this.rtts.set(peer.nodeId, Infinity);
    }
  }
}
