import { afterEach, describe, expect, inject, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { startKafka, type KafkaHandle } from "@regio/dev-kafka";
import { NodeProcesses, readiness, type NodeProcess } from "../support/broker-process.ts";
import { connected, until } from "../support/events.ts";
import { connect, startAppServer, stopAppServer, type AppServer } from "../support/regio-harness.ts";
import { provisionTopics, uniqueTopics } from "../support/topics.ts";

/**
 * Lose a region, lose nothing: nodes start, restart and stay ready while another region's Kafka is
 * down or hung, and read that region completely once it is back. Nodes are real CLI processes;
 * the "other region" is a Kafka of the test's own, so that it can be killed and paused.
 */
describe("region outages", () => {
  const processes = new NodeProcesses();
  const apps: AppServer[] = [];
  const clients: ClientSocket[] = [];
  let peerKafka: KafkaHandle | undefined;

  afterEach(async () => {
    clients.splice(0).forEach((c) => c.disconnect());
    await Promise.allSettled(apps.splice(0).map(stopAppServer));
    await processes.stopAll();
    peerKafka?.resume();
    await peerKafka?.stop();
    peerKafka = undefined;
  });

  it("starts four nodes of two regions at once on fresh topics, five times over: none exits, all become ready", async () => {
    const kafka = inject("kafka");
    for (let round = 1; round <= 5; round++) {
      const topics = uniqueTopics("s");
      const start = (region: "eastus" | "westeurope", i: number) =>
        processes.start({
          nodeId: `s${round}-${region}-${i}`,
          region,
          kafka: kafka[region]!,
          peers: region === "eastus" ? { westeurope: kafka.westeurope! } : { eastus: kafka.eastus! },
          topics,
        });
      const nodes = await Promise.all([
        start("eastus", 1),
        start("eastus", 2),
        start("westeurope", 1),
        start("westeurope", 2),
      ]);
      await until(
        async () => (await Promise.all(nodes.map((n) => readiness(n.url)))).every((r) => r.status === 200),
        `round ${round}: all four nodes are ready`,
        30_000,
      );
      expect(nodes.map((n) => n.child.exitCode)).toEqual([null, null, null, null]);
      await processes.stopAll();
    }
  }, 240_000);

  it("restarts a node while another region's Kafka is down; it becomes ready, then reads every broadcast that region published since, once and in order", async () => {
    peerKafka = await startKafka({ port: 0 });
    const westKafka = inject("kafka").westeurope!;
    const topics = uniqueTopics("o");
    const east = await processes.start({
      nodeId: "o-east",
      region: "eastus",
      kafka: peerKafka.brokers,
      peers: { westeurope: westKafka },
      topics,
    });
    const startWest = () =>
      processes.start({
        nodeId: "o-west",
        region: "westeurope",
        kafka: westKafka,
        peers: { eastus: peerKafka!.brokers },
        topics,
      });
    const firstWest = await startWest();
    await until(async () => (await readiness(firstWest.url)).status === 200, "the west node is ready");
    const eastApp = await startAppServer(east);
    apps.push(eastApp);

    await peerKafka.kill();
    firstWest.child.kill("SIGKILL");
    await firstWest.exited;
    const west: NodeProcess = await startWest();
    await until(
      async () => (await readiness(west.url)).status === 200,
      "the restarted west node is ready while east's Kafka is down",
      20_000,
    );
    const westApp = await startAppServer(west);
    apps.push(westApp);
    const client = await connected(connect(west, "/", { transports: ["websocket"] }));
    clients.push(client);
    const received: number[] = [];
    client.on("n", (n: number) => received.push(n));

    // Accepted by the east node and buffered there: its Kafka is down.
    for (let i = 0; i < 50; i++) eastApp.io.emit("n", i);
    await peerKafka.restart();
    const kafkaBackAt = Date.now();
    for (let i = 50; i < 100; i++) eastApp.io.emit("n", i);
    await until(() => received.length >= 100, "the west client got every broadcast of east", 20_000);
    console.log(
      `west delivered east's broadcasts ${Date.now() - kafkaBackAt} ms after east's Kafka was back`,
    );
    expect(received).toEqual([...Array(100).keys()]);
    expect(west.child.exitCode).toBe(null);
  }, 120_000);

  it("stays ready (200) while a peer region's Kafka is killed or paused, and shows the peer unreachable", async () => {
    peerKafka = await startKafka({ port: 0 });
    const topics = uniqueTopics("p");
    // East's topics exist (its nodes or infra/ created them); the west node only reads them.
    await provisionTopics(peerKafka.brokers, topics);
    const west = await processes.start({
      nodeId: "p-west",
      region: "westeurope",
      kafka: inject("kafka").westeurope!,
      peers: { eastus: peerKafka.brokers },
      topics,
    });
    const peer = async () => (await readiness(west.url)).body.replication.peers?.eastus;
    await until(async () => (await readiness(west.url)).status === 200, "the west node is ready");
    await until(async () => (await peer())?.reachable === true, "east is reachable");

    // Polls /readyz every 100 ms for as long as the outage lasts; every answer must be 200.
    const statuses: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        statuses.push((await readiness(west.url)).status);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      await peerKafka.kill();
      // Down long enough for every retry of the consumer to fail, not just the first fetch.
      await until(
        async () => /ECONNREFUSED/.test((await peer())?.detail ?? ""),
        "the west node says east's Kafka refuses connections",
        30_000,
      );
      expect((await peer())?.reachable).toBe(false);
      await peerKafka.restart();
      await until(async () => (await peer())?.reachable === true, "east is reachable again", 20_000);

      await peerKafka.pause();
      await until(
        async () => (await peer())?.reachable === false,
        "east is unreachable while paused",
        20_000,
      );
      peerKafka.resume();
      await until(async () => (await peer())?.reachable === true, "east is reachable after resume", 40_000);
    } finally {
      polling = false;
      await poller;
    }
    expect(statuses.length).toBeGreaterThan(50);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  }, 180_000);
});
