import { Hub, type HubContext } from "../hub/hub.ts";

/**
 * The hubs this node serves, by name. Everything a hub holds is soft state, created on demand from
 * what the node is told (an app link, a replicated record) and dropped when the node closes.
 */
export class HubRegistry {
  private readonly hubs = new Map<string, Hub>();

  constructor(private readonly context: HubContext) {}

  get(name: string): Hub | undefined {
    return this.hubs.get(name);
  }

  /** The hub, created if this node does not hold it yet. */
  open(name: string): Hub {
    let hub = this.hubs.get(name);
    if (!hub) {
      hub = new Hub(name, this.context);
      this.hubs.set(name, hub);
    }
    return hub;
  }

  values(): IterableIterator<Hub> {
    return this.hubs.values();
  }

  /** App server ids linked to this node, by hub (for heartbeats). */
  appServers(): Record<string, string[]> {
    return Object.fromEntries([...this.hubs].map(([name, hub]) => [name, hub.appServerIds()]));
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
