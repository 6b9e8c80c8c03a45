/**
 * What one hub on this node has done, as plain numbers bumped where it happens (one addition per
 * packet, never a metrics call: fan-out writes one packet to thousands of clients). The node's
 * metrics read them when they are collected (node-metrics.ts).
 */
export class HubStats {
  /** Engine.IO sessions opened, by the transport they opened with. */
  readonly connections = new Map<string, number>();
  /** Engine.IO messages and their payload bytes from clients / to clients. */
  readonly client = { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 };
  /** App-link frames and their bytes from app servers / to app servers. */
  readonly appLink = { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0 };
  /** Operations executed on this node, by `type` and `source` (app link or replication). */
  readonly operations = new Map<string, { type: string; source: OperationSource; count: number }>();

  connectionOpened(transport: string): void {
    this.connections.set(transport, (this.connections.get(transport) ?? 0) + 1);
  }

  operation(type: string, source: OperationSource): void {
    const key = `${type}\u0000${source}`;
    const entry = this.operations.get(key);
    if (entry) entry.count++;
    else this.operations.set(key, { type, source, count: 1 });
  }
}

/** Where an operation came from: an app server's link to this node, or another node (replication). */
export type OperationSource = "app_link" | "replication";
