import { setTimeout as sleep } from "node:timers/promises";
import { requestMetadata } from "./metadata-request.ts";

const POLL_INTERVAL_MS = 300;
const PROBE_TIMEOUT_MS = 3_000;

/**
 * Resolves true once Kafka at 127.0.0.1:`port` answers a metadata request listing a live broker and
 * a controller. We ask Kafka rather than grep its log: log wording changes between versions, and a
 * KRaft broker only opens its client listener after it has caught up with the controller, so an
 * answer means it is usable.
 * The answer must carry our `clusterId`: if some other Kafka already holds the port, ours fails to
 * bind, but until it exits the stranger would answer the probe.
 * Returns false if `signal` aborts (the process exited) or the deadline passes first.
 */
export async function pollUntilReady(
  port: number,
  clusterId: string,
  deadline: number,
  signal: AbortSignal,
): Promise<boolean> {
  while (!signal.aborted && Date.now() < deadline) {
    if (await probe(port, clusterId)) return true;
    await sleep(POLL_INTERVAL_MS);
  }
  return false;
}

async function probe(port: number, clusterId: string): Promise<boolean> {
  try {
    const cluster = await requestMetadata("127.0.0.1", port, PROBE_TIMEOUT_MS);
    return cluster.clusterId === clusterId && cluster.brokerCount > 0 && cluster.controllerId >= 0;
  } catch {
    // Not listening yet, or listening but not serving metadata yet: both mean "poll again".
    return false;
  }
}
