/**
 * What a Kafka outage with a backlog costs, and how fast the backlog drains: a tool behind ADR
 * 0020's numbers, not a scenario of `npm run bench`. Two regions in this process (a Kafka, a node
 * and an app server each), a socket.io-client on westeurope's node. eastus's Kafka is killed, its
 * app server broadcasts `backlog` messages of 100 bytes (the node buffers `buffer` bytes of them
 * and refuses the rest for now), then: this process's CPU for `rounds` rounds of 6 s (the SDK
 * re-sending and the node refusing; nothing else runs), and, once eastus's Kafka is restarted, how
 * long until the westeurope client has every message. With `appServers` above 1, eastus has that
 * many app servers sharing its node's buffer, each broadcasting its share of the backlog in turn (the
 * first fills the buffer; the others' operations are all refused). With `live` above 0, the first
 * eastus app server goes on broadcasting after Kafka's restart, `live` messages every 100 ms for
 * 10 s, as a busy app would while the backlog drains; each of them must arrive too.
 *
 *   npx tsx --conditions=@regio/source bench/kafka-outage.ts [backlog] [buffer] [rounds] [appServers] [live]
 *
 * REGIO_LOG_LEVEL=warn shows the nodes' warnings (a sequence gate that skipped a gap says so).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server } from "socket.io";
import { io as connectClient } from "socket.io-client";
import { startLocalCluster } from "@regio/broker";
import { startKafka } from "@regio/dev-kafka";
import { clientPath, formatConnectionString } from "@regio/protocol";
import { useRegio } from "@regio/sdk";
import { BENCH_ACCESS_KEY } from "./server-process.ts";

const [backlogArg = "100000", bufferArg = "65536", roundsArg = "3", appServersArg = "1", liveArg = "0"] =
  process.argv.slice(2);
const backlog = Number(backlogArg);
const HUB = "chat";
const DRAIN_DEADLINE_MS = 240_000;

const dataDirs = [mkdtempSync(join(tmpdir(), "regio-outage-")), mkdtempSync(join(tmpdir(), "regio-outage-"))];
const [eastKafka, westKafka] = await Promise.all(dataDirs.map((dataDir) => startKafka({ port: 0, dataDir })));
const prefix = `outage${Date.now()}`;
const cluster = await startLocalCluster({
  accessKey: BENCH_ACCESS_KEY,
  kafka: { eastus: eastKafka!.brokers, westeurope: westKafka!.brokers },
  nodesPerRegion: 1,
  topics: { events: `${prefix}.events`, membership: `${prefix}.membership`, nodes: `${prefix}.nodes` },
  maxBufferBytes: Number(bufferArg),
  logLevel: (process.env.REGIO_LOG_LEVEL as "silent" | undefined) ?? "silent",
});
const eastNode = cluster.regions.get("eastus")![0]!;
const westNode = cluster.regions.get("westeurope")![0]!;

async function serve(url: string) {
  const io = new Server();
  const regio = useRegio(io, { hub: HUB, connectionString: formatConnectionString(url, BENCH_ACCESS_KEY) });
  await regio.ready;
  return { io, regio };
}
const eastApps: Array<Awaited<ReturnType<typeof serve>>> = [];
for (let i = 0; i < Number(appServersArg); i++) eastApps.push(await serve(eastNode.url));
const apps = [...eastApps, await serve(westNode.url)];
const client = connectClient(westNode.url, { path: clientPath(HUB), transports: ["websocket"] });
try {
  await new Promise<void>((resolve) => client.once("connect", resolve));
  const seen = new Set<number>();
  let received = 0;
  client.on("n", (n: number) => {
    received++;
    seen.add(n);
  });

  await eastKafka!.kill();
  const payload = "x".repeat(100);
  for (let i = 0; i < backlog; i++)
    eastApps[Math.floor((i * eastApps.length) / backlog)]!.io.emit("n", i, payload);
  // Not measured: the broadcasts reaching the node, and its first refusals.
  await new Promise((resolve) => setTimeout(resolve, 6000));
  for (let round = 1; round <= Number(roundsArg); round++) {
    const before = process.cpuUsage();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const used = process.cpuUsage(before);
    const percent = (100 * (used.user + used.system)) / 1000 / (performance.now() - started);
    console.log(`Kafka down, ${backlog} messages waiting: ${percent.toFixed(1)} % of a core (6 s)`);
  }

  await eastKafka!.restart();
  const restartedAt = Date.now();
  let total = backlog;
  const live = setInterval(() => {
    if (Date.now() - restartedAt > 10_000) return clearInterval(live);
    for (let i = 0; i < Number(liveArg); i++) eastApps[0]!.io.emit("n", total++, payload);
  }, 100);
  if (Number(liveArg) === 0) clearInterval(live);
  while (seen.size < total && Date.now() - restartedAt < DRAIN_DEADLINE_MS) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  clearInterval(live);
  const ms = Date.now() - restartedAt;
  console.log(
    `Kafka restarted: ${seen.size} of ${total} messages at westeurope ${ms} ms later` +
      (received > seen.size ? ` (and ${received - seen.size} twice)` : ""),
  );
} finally {
  client.disconnect();
  for (const { io, regio } of apps) {
    await io.close();
    await regio.close();
  }
  await cluster.close();
  await Promise.all([eastKafka!.stop(), westKafka!.stop()]);
  for (const dataDir of dataDirs) rmSync(dataDir, { recursive: true, force: true });
}
