// Pulls "vitest" into the program so the augmentation below has a module to merge into.
import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { startKafka, type KafkaHandle } from "@regio/dev-kafka";

declare module "vitest" {
  export interface ProvidedContext {
    /** Bootstrap brokers ("127.0.0.1:port") per region, e.g. `inject("kafka").eastus`. */
    kafka: Record<string, string>;
  }
}

/** One independent Kafka cluster per region, as in a real multi-region deployment. */
export const KAFKA_REGIONS = ["eastus", "westeurope"] as const;

/**
 * Vitest global setup: starts one real Kafka per region on free ports with fresh temp data dirs,
 * shares their addresses with test files through `inject("kafka")`, and stops them afterwards.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const results = await Promise.allSettled(KAFKA_REGIONS.map((region) => startRegion(region)));
  const started = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const teardown = async (): Promise<void> => {
    await Promise.all(started.map(({ handle }) => handle.stop()));
  };

  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) {
    // Don't leave the region that did start running while the whole run aborts.
    await teardown();
    throw failure.reason;
  }
  project.provide("kafka", Object.fromEntries(started.map(({ region, handle }) => [region, handle.brokers])));
  return teardown;
}

async function startRegion(region: string): Promise<{ region: string; handle: KafkaHandle }> {
  try {
    return { region, handle: await startKafka({ port: 0 }) };
  } catch (err) {
    throw new Error(`Kafka for region ${region} failed to start`, { cause: err });
  }
}
