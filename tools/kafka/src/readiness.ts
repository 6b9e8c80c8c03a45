import { Kafka, logLevel } from "kafkajs";
import { setTimeout as sleep } from "node:timers/promises";

const POLL_INTERVAL_MS = 300;

/**
 * Resolves true once Kafka answers a metadata request listing a live broker. We ask Kafka rather
 * than grep its log: log wording changes between versions, and a KRaft broker only opens its client
 * listener after it has caught up with the controller, so an answer means it is usable.
 * The answer must carry our `clusterId`: if some other Kafka already holds the port, ours fails to
 * bind, but until it exits the stranger would answer the probe.
 * Returns false if `signal` aborts (the process exited) or the deadline passes first.
 */
export async function pollUntilReady(
  brokers: string,
  clusterId: string,
  deadline: number,
  signal: AbortSignal,
): Promise<boolean> {
  const kafka = new Kafka({
    clientId: "regio-kafka-readiness",
    brokers: [brokers],
    // Refused connections are the normal case while the JVM starts; don't log them.
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 3_000,
    retry: { retries: 0 },
  });
  while (!signal.aborted && Date.now() < deadline) {
    if (await probe(kafka, clusterId)) return true;
    await sleep(POLL_INTERVAL_MS);
  }
  return false;
}

async function probe(kafka: Kafka, clusterId: string): Promise<boolean> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.clusterId === clusterId && cluster.brokers.length > 0 && cluster.controller !== null;
  } catch {
    // Not listening yet, or listening but not serving metadata yet: both mean "poll again".
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
