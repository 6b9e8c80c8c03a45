import { afterEach, expect, inject, it } from "vitest";
import { startKafka, type KafkaHandle } from "@regio/dev-kafka";
import { NodeProcesses, readiness, type NodeProcess, type ReadinessBody } from "../support/broker-process.ts";
import { until } from "../support/events.ts";
import { freePort } from "../support/regio-command.ts";
import { uniqueTopics } from "../support/topics.ts";

/** What a node's own detail says when it is ready (Kafka, or a lone node's in-process bus). */
const READY_DETAIL = /^(writing and reading this region's Kafka|in-process)/;

/**
 * A /readyz answer that never contradicts itself: status code, `status`, `replication.ready` and
 * the details all say the same, and each peer's detail agrees with its `reachable`.
 */
function expectConsistent({ status, body }: { status: number; body: ReadinessBody }, state: string): void {
  const ready = status === 200;
  expect(status, state).toBe(ready ? 200 : 503);
  expect(body.status, state).toBe(ready ? "ready" : "not ready");
  expect(body.replication.ready, state).toBe(ready);
  if (ready) expect(body.replication.detail, state).toMatch(READY_DETAIL);
  else {
    expect(body.replication.detail, state).not.toMatch(READY_DETAIL);
    expect(body.replication.detail, state).not.toBe("");
  }
  for (const [region, peer] of Object.entries(body.replication.peers ?? {})) {
    expect(peer.detail, `${state}: peer ${region}`).toMatch(peer.reachable ? /^reading/ : /^not reading/);
    // A ready node that does not read a peer says so in its own detail too.
    if (ready && !peer.reachable) expect(body.replication.detail, state).toContain(region);
  }
}

const processes = new NodeProcesses();
let eastKafka: KafkaHandle | undefined;

afterEach(async () => {
  await processes.stopAll();
  eastKafka?.resume();
  await eastKafka?.stop();
  eastKafka = undefined;
});

it("/readyz says the same in its status and its details while starting, ready, with a peer down and with its own Kafka down", async () => {
  eastKafka = await startKafka({ port: 0 });
  const westKafka = inject("kafka").westeurope!;
  const topics = uniqueTopics("r");
  const node = (region: "eastus" | "westeurope", args: string[] = []): Promise<NodeProcess> =>
    processes.start({
      nodeId: `r-${region}`,
      region,
      kafka: region === "eastus" ? eastKafka!.brokers : westKafka,
      peers: region === "eastus" ? { westeurope: westKafka } : { eastus: eastKafka!.brokers },
      topics,
      args,
    });

  // East's Kafka is down from the start (killed: its port stays taken for the restart).
  await eastKafka.kill();

  // A peer region down: the west node is ready and says it does not read east.
  const west = await node("westeurope");
  await until(async () => (await readiness(west.url)).status === 200, "west is ready", 20_000);
  const peerDown = await readiness(west.url);
  expectConsistent(peerDown, "peer down");
  expect(peerDown.body.replication.peers?.eastus?.reachable).toBe(false);

  // Starting: the east node listens (and answers /readyz) but cannot start without its Kafka.
  const eastPort = await freePort();
  const eastStarted = node("eastus", [`--port=${eastPort}`]);
  // Awaited once its Kafka is back; should it exit before, that await reports it.
  eastStarted.catch(() => {});
  const eastUrl = `http://127.0.0.1:${eastPort}`;
  await until(
    () =>
      readiness(eastUrl).then(
        () => true,
        () => false,
      ),
    "the east node answers /readyz",
    20_000,
  );
  const starting = await readiness(eastUrl);
  expectConsistent(starting, "starting");
  expect(starting.status).toBe(503);
  expect(starting.body.replication.detail).toMatch(/^starting/);

  // Ready: its Kafka is back, and it reads the peer region too.
  await eastKafka.restart();
  const east = await eastStarted;
  await until(
    async () => (await readiness(east.url)).body.replication.peers?.westeurope?.reachable === true,
    "east reads west",
    20_000,
  );
  const ready = await readiness(east.url);
  expectConsistent(ready, "ready");
  expect(ready.status).toBe(200);

  // Its own Kafka down: the east node is not ready, and says why.
  await eastKafka.kill();
  await until(async () => (await readiness(east.url)).status === 503, "east is not ready", 30_000);
  const ownDown = await readiness(east.url);
  expectConsistent(ownDown, "own Kafka down");
  expect(ownDown.body.replication.detail).toMatch(/this region's Kafka/);
}, 120_000);
