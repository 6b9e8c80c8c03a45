import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { startLocalCluster, type LocalCluster } from "@regio/broker";
import { startKafka, type KafkaHandle } from "@regio/dev-kafka";
import {
  ACCESS_KEY,
  connect,
  startAppServer,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { connected, until } from "../support/events.ts";
import { uniqueTopics } from "../support/topics.ts";

async function readiness(
  url: string,
): Promise<{ status: number; body: { replication: { bufferedBytes: number } } }> {
  const response = await fetch(`${url}/readyz`);
  return {
    status: response.status,
    body: (await response.json()) as { replication: { bufferedBytes: number } },
  };
}

function counter(socket: ClientSocket, event: string): number[] {
  const seen: number[] = [];
  socket.on(event, (n: number) => seen.push(n));
  return seen;
}

describe("Kafka and node faults", () => {
  const children: ChildProcess[] = [];
  let kafka: KafkaHandle | undefined;
  let dataDir: string | undefined;
  let cluster: LocalCluster | undefined;
  let app: AppServer | undefined;
  const clients: ClientSocket[] = [];

  afterEach(async () => {
    clients.splice(0).forEach((c) => c.disconnect());
    if (app) await stopAppServer(app);
    app = undefined;
    await cluster?.close();
    cluster = undefined;
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  });
  afterAll(async () => {
    await kafka?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("loses no accepted broadcast while one region's Kafka crashes and restarts, and says so in readiness", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "regio-kafka-fault-"));
    kafka = await startKafka({ port: 0, dataDir });
    cluster = await startLocalCluster({
      accessKey: ACCESS_KEY,
      kafka: { eastus: kafka.brokers, westeurope: inject("kafka").westeurope! },
      nodesPerRegion: 1,
      topics: uniqueTopics("f"),
      leaseMs: 60_000,
      maxBufferBytes: 4000,
      logLevel: process.env.REGIO_LOG_LEVEL ?? "silent",
    });
    const eastNode = cluster.regions.get("eastus")![0]!;
    const westNode = cluster.regions.get("westeurope")![0]!;
    app = await startAppServer(eastNode);
    // The west node needs an app server too, to accept its client.
    const westApp = await startAppServer(westNode);
    try {
      const local = await connected(connect(eastNode, "/", { transports: ["websocket"] }));
      const remote = await connected(connect(westNode, "/", { transports: ["websocket"] }));
      clients.push(local, remote);
      const atEast = counter(local, "n");
      const atWest = counter(remote, "n");
      const emit = (from: number, to: number) => {
        for (let i = from; i < to; i++) app!.io.emit("n", i);
      };

      emit(0, 100);
      await until(() => atWest.length === 100, "the west client got the first 100", 20_000);

      await kafka.kill(); // a crash, not a clean shutdown
      emit(100, 200);
      // Local clients are served at once; the rest waits for Kafka, within a bounded buffer.
      await until(() => atEast.length === 200, "the east client got 200 while Kafka is down");
      await until(
        async () => (await readiness(eastNode.url)).status === 503,
        "the east node reports not ready",
      );
      expect((await readiness(eastNode.url)).body.replication.bufferedBytes).toBeGreaterThan(0);
      expect((await readiness(eastNode.url)).body.replication.bufferedBytes).toBeLessThanOrEqual(4000);

      await kafka.restart();
      emit(200, 300);
      await until(() => atWest.length >= 300, "the west client got every broadcast", 60_000);
      const expected = [...Array(300).keys()];
      expect(atWest).toEqual(expected);
      expect(atEast).toEqual(expected);
      await until(
        async () => (await readiness(eastNode.url)).status === 200,
        "the east node is ready again",
        20_000,
      );
      expect((await readiness(eastNode.url)).body.replication.bufferedBytes).toBe(0);
    } finally {
      await stopAppServer(westApp);
    }
  }, 180_000);

  const leaseMs = 2000;
  /** Node processes of one test share topics of their own. */
  let nodeTopics = uniqueTopics("f");
  /** A broker node as its own process (the CLI), so that it can be SIGKILLed. */
  const startNode = async (nodeId: string) => {
    const child = spawn(
      process.execPath,
      [
        "broker/bin/regio.mjs",
        "broker",
        "--port=0",
        `--node-id=${nodeId}`,
        "--region=eastus",
        `--kafka=${inject("kafka").eastus!}`,
        `--lease-ms=${leaseMs}`,
        `--topic-events=${nodeTopics.events}`,
        `--topic-membership=${nodeTopics.membership}`,
        `--topic-nodes=${nodeTopics.nodes}`,
      ],
      {
        env: { ...process.env, REGIO_ACCESS_KEY: ACCESS_KEY, REGIO_LOG_LEVEL: "info" },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    children.push(child);
    // The node logs its URL once it listens and has caught up with the region.
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const match = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"broker listening"/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.once("exit", (code) => reject(new Error(`node ${nodeId} exited with ${code}: ${out}`)));
    });
    return { child, url };
  };

  it("drops a SIGKILLed node's sockets from the view within the lease", async () => {
    nodeTopics = uniqueTopics("f");
    const first = await startNode("k1");
    const second = await startNode("k2");
    app = await startAppServer({ url: first.url });
    await until(async () => (await fetch(`${second.url}/readyz`)).ok, "k2 is ready");
    const onFirst = await connected(connect({ url: first.url }));
    const onSecond = await connected(connect({ url: second.url }));
    clients.push(onFirst, onSecond);
    await until(async () => (await app!.io.fetchSockets()).length === 2, "the view holds both sockets");

    const killedAt = Date.now();
    second.child.kill("SIGKILL");
    await until(async () => (await app!.io.fetchSockets()).length === 1, "k2's socket left the view", 10_000);
    const elapsed = Date.now() - killedAt;
    // Gone within the lease, plus the directory's check interval and one heartbeat period.
    expect(elapsed).toBeLessThan(leaseMs + leaseMs / 2 + 1000);
    expect((await app.io.fetchSockets()).map((s) => s.id)).toEqual([onFirst.id]);
    const seen = counter(onFirst, "after");
    app.io.emit("after", 1);
    await until(() => seen.length === 1, "the app server still reaches k1's client");

    // A node that starts now reads k2's last membership records from the log, but k2 never
    // heartbeats to it: its view must drop them too (within a lease).
    const third = await startNode("k3");
    const viaThird = await startAppServer({ url: third.url });
    try {
      await until(
        async () => (await viaThird.io.fetchSockets()).map((s) => s.id).join() === onFirst.id,
        "k3's view holds k1's socket and not the dead k2's",
        3 * leaseMs,
      );
    } finally {
      await stopAppServer(viaThird);
    }
  }, 60_000);

  it("drops the sockets of a node's earlier start when it restarts under the same id within its lease", async () => {
    nodeTopics = uniqueTopics("f");
    const first = await startNode("r1");
    let second = await startNode("r2");
    app = await startAppServer({ url: first.url });
    await until(async () => (await fetch(`${second.url}/readyz`)).ok, "r2 is ready");
    const onFirst = await connected(connect({ url: first.url }));
    const onSecond = await connected(connect({ url: second.url }));
    clients.push(onFirst, onSecond);
    await until(async () => (await app!.io.fetchSockets()).length === 2, "the view holds both sockets");

    // Killed and back at once under the same id, as a container restart does: its heartbeats never
    // stop long enough for the lease, but its earlier sockets are gone all the same.
    second.child.kill("SIGKILL");
    second = await startNode("r2");
    await until(
      async () => (await app!.io.fetchSockets()).map((s) => s.id).join() === onFirst.id,
      "the view dropped the earlier r2's socket",
      4 * leaseMs,
    );
  }, 60_000);
});
