import type { NodeId } from "@regio/protocol";
import { randomUUID } from "node:crypto";
import type { NodeInfo } from "@regio/protocol";
import { LogThrottle } from "../log-throttle.ts";
import type { Logger } from "../logger.ts";
import { HeartbeatPolicy } from "../replication/heartbeat-policy.ts";
import { NodeDirectory, type GoneHow } from "../replication/node-directory.ts";
import { PeerLatency } from "./peer-latency.ts";
import type { NodeHeartbeat, Replicator } from "../replication/replicator.ts";

export interface ClusterMembershipOptions {
  nodeId: NodeId;
  region: string;
  /** A node not heard from for this long is gone. */
  leaseMs: number;
  /** Heartbeat period (default lease / 4). */
  heartbeatMs?: number;
  /** Globs other nodes' URLs must match (default: this node's scheme and host, any port). */
  nodeUrlPatterns?: readonly string[];
  replicator: Replicator;
  log: Logger;
  /** What this node says of itself in each heartbeat, beyond its identity. */
  describe(): Pick<NodeHeartbeat, "appServers" | "sessions">;
  /**
   * A node left: its sockets leave every hub's view. `expired`: its lease ran out and it may be heard
   * again (paused, partitioned), `left`: it said goodbye.
   */
  onNodeGone(nodeId: NodeId, how: GoneHow): void;
  /** A node joined, or was heard again after its lease ran out: app servers of this region learn of it. */
  onNodeJoined(heartbeat: NodeHeartbeat): void;
  /** Drops sockets of nodes that are not alive; returns how many. */
  sweep(isAlive: (nodeId: NodeId, incarnation: string) => boolean, graceMs: number): number;
}

/**
 * This node's place in the cluster of every region: it heartbeats (saying where it is reached and
 * which app servers it links), keeps the directory of live nodes from their heartbeats, and sweeps
 * the sockets of nodes that are gone. Each start of a node has its own incarnation id.
 */
export class ClusterMembership {
  readonly incarnation = randomUUID();
  readonly directory: NodeDirectory;
  advertisedUrl = "";
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private latency: PeerLatency | undefined;

  constructor(private readonly options: ClusterMembershipOptions) {
    const { log } = options;
    const throttle = new LogThrottle();
    this.directory = new NodeDirectory({
      self: () => this.heartbeat(),
      leaseMs: options.leaseMs,
      policy: new HeartbeatPolicy({
        leaseMs: options.leaseMs,
        self: () => ({ nodeId: options.nodeId, url: this.advertisedUrl }),
        urlPatterns: options.nodeUrlPatterns,
      }),
      onGone: (gone, how) => {
        options.onNodeGone(gone, how);
        log.warn({ gone, how }, "node left the cluster");
      },
      onJoined: (heartbeat) => {
        log.info({ joined: heartbeat.nodeId, url: heartbeat.url }, "node joined the cluster");
        options.onNodeJoined(heartbeat);
      },
      onRejected: (heartbeat, reason) =>
        throttle.log(reason, (suppressed) =>
          log.warn(
            { nodeId: heartbeat.nodeId, url: heartbeat.url, suppressed },
            `heartbeat ignored: ${reason}`,
          ),
        ),
    });
  }

  /** This node's heartbeat as of now. */
  heartbeat(leaving = false): NodeHeartbeat {
    const { nodeId, region } = this.options;
    return {
      nodeId,
      incarnation: this.incarnation,
      region,
      url: this.advertisedUrl,
      ...this.options.describe(),
      at: Date.now(),
      leaving,
    };
  }

  /** Starts heartbeating and sweeping (once the replicator runs). */
  start(): void {
    const { replicator, leaseMs, log } = this.options;
    const beat = () => replicator.publishHeartbeat(this.heartbeat());
    beat();
    this.heartbeatTimer = setInterval(beat, this.options.heartbeatMs ?? leaseMs / 4);
    this.heartbeatTimer.unref();
    this.sweepTimer = setInterval(() => {
      const removed = this.options.sweep((id, inc) => this.directory.isAlive(id, inc), leaseMs);
      if (removed > 0) log.info({ removedSockets: removed }, "dropped sockets of nodes that are not alive");
    }, leaseMs / 2);
    this.sweepTimer.unref();
    const self = this.options.nodeId;
    this.latency = new PeerLatency(() =>
      this.directory.list().filter((node) => node.nodeId !== self && node.url),
    );
  }

  /**
   * Where to relay a new client session of a hub that no app server serves through this node: a
   * live node of this region through which an app server serves the hub, else the nearest such node
   * of another region (lowest measured round trip). Undefined when none serves it, anywhere.
   */
  relayFor(hub: string): URL | undefined {
    const { nodeId: self, region } = this.options;
    const distance = (node: NodeHeartbeat): [number, number] => [
      node.region === region ? 0 : 1,
      this.latency?.rtt(node.nodeId) ?? Infinity,
    ];
    const candidates = this.directory
      .list()
      .filter((node) => node.nodeId !== self && node.url && (node.appServers[hub]?.length ?? 0) > 0)
      .map((node) => ({ node, distance: distance(node) }))
      .sort((a, b) => a.distance[0] - b.distance[0] || compareRtt(a.distance[1], b.distance[1]));
    const best = candidates[0]?.node;
    return best ? new URL(best.url) : undefined;
  }

  onHeartbeat(beat: NodeHeartbeat): void {
    this.directory.update(beat);
  }

  /** The live nodes of this region, for app servers to link to each. */
  regionNodes(): NodeInfo[] {
    return this.directory
      .list(this.options.region)
      .map((node) => ({ nodeId: node.nodeId, url: node.url, region: node.region }));
  }

  /** App server ids linked to a hub on other live nodes, from their heartbeats. */
  remoteAppServers(hub: string): string[] {
    const self = this.options.nodeId;
    return this.directory
      .list()
      .flatMap((node) => (node.nodeId === self ? [] : (node.appServers[hub] ?? [])));
  }

  /** Says goodbye (peers drop this node at once rather than after the lease). */
  leave(): void {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.sweepTimer);
    this.latency?.close();
    this.directory.close();
    this.options.replicator.publishHeartbeat(this.heartbeat(true));
  }
}

/** Ascending, with unmeasured (Infinity) last and equal to each other. */
function compareRtt(a: number, b: number): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
