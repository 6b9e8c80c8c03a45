import { AppServerId } from "@regio/protocol";
import { Hub, type HubContext } from "../hub/hub.ts";

/**
 * The hubs this node serves, by name. A hub exists because an app server linked it here or a
 * verified record of another node names it, never because a client named it; there are at most
 * `maxHubs`, and one with nothing left in it (no links, sessions or view) is dropped. Everything a
 * hub holds is soft state.
 */
export class HubRegistry {
  private readonly hubs = new Map<string, Hub>();

  constructor(
    private readonly context: HubContext,
    private readonly maxHubs: number,
  ) {}

  get(name: string): Hub | undefined {
    return this.hubs.get(name);
  }

  /** Whether `open(name)` would succeed. */
  admits(name: string): boolean {
    return this.hubs.has(name) || this.hubs.size < this.maxHubs;
  }

  /** The hub, created if this node does not hold it yet; undefined when the node holds `maxHubs`. */
  open(name: string): Hub | undefined {
    let hub = this.hubs.get(name);
    if (!hub) {
      if (this.hubs.size >= this.maxHubs) return undefined;
      hub = new Hub(name, this.context);
      this.hubs.set(name, hub);
    }
    return hub;
  }

  /** Drops the hubs with nothing left in them; returns how many. */
  dropEmpty(): number {
    let dropped = 0;
    for (const [name, hub] of this.hubs) {
      if (!hub.isEmpty) continue;
      hub.close();
      this.hubs.delete(name);
      dropped++;
    }
    return dropped;
  }

  get size(): number {
    return this.hubs.size;
  }

  values(): IterableIterator<Hub> {
    return this.hubs.values();
  }

  /** App server ids linked to this node, by hub (for heartbeats). */
  appServers(): Record<string, AppServerId[]> {
    return Object.fromEntries([...this.hubs].map(([name, hub]) => [name, hub.appServerIds()]));
  }

  /** Per hub: app servers serving through this node, and client sessions here (for /readyz). */
  summary(): Record<string, { appServers: number; sessions: number }> {
    return Object.fromEntries(
      [...this.hubs].map(([name, hub]) => [
        name,
        { appServers: hub.appServerIds().length, sessions: hub.sessions.size },
      ]),
    );
  }

  sessionCount(): number {
    let sessions = 0;
    for (const hub of this.hubs.values()) sessions += hub.sessions.size;
    return sessions;
  }

  /** Sockets of every hub removed (returns how many) for a node that is gone or not alive. */
  sum(each: (hub: Hub) => number): number {
    let total = 0;
    for (const hub of this.hubs.values()) total += each(hub);
    return total;
  }

  close(): void {
    for (const hub of this.hubs.values()) hub.close();
  }
}
