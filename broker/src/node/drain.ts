import type { Logger } from "../logger.ts";
import type { HubRegistry } from "./hub-registry.ts";

export interface DrainOptions {
  /** Time for app servers to move their operations before the node closes, ms (default 1000). */
  settleMs?: number;
}

/**
 * Takes a node out of service without losing anything: it stops taking new sessions (new clients
 * reaching it are relayed to other nodes, its heartbeats and readiness say it serves nobody), tells
 * its app servers (they move their operations to another node and re-send what it has not
 * acknowledged), and closes its client sessions, whose clients reconnect elsewhere and recover their
 * sockets and what they missed. What it accepted is still written to the log when it closes.
 */
export async function drainHubs(hubs: HubRegistry, log: Logger, options: DrainOptions = {}): Promise<void> {
  const sessions = hubs.sessionCount();
  for (const hub of hubs.values()) hub.drain();
  log.info({ sessions }, "draining: no new sessions; app servers told; client sessions closed");
  // App servers move their primary on Draining; a moment for operations in flight to land first.
  await new Promise((resolve) => setTimeout(resolve, options.settleMs ?? 1000).unref());
}
