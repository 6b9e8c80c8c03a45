/**
 * Added latency of cross-region delivery against same-node delivery, measured in one run on this
 * machine: two regions (one Kafka and one broker node each), an app server linked in eastus, one
 * WebSocket client on the eastus node (same node as the app server's link) and one on the
 * westeurope node (reached through eastus's Kafka). The app server emits timestamped messages at a
 * steady rate; each client records receive time minus send time (same process, same clock).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server } from "socket.io";
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import { startLocalCluster } from "@regio/broker";
import { startKafka, type KafkaHandle } from "@regio/dev-kafka";
import { useRegio } from "@regio/sdk";
import { clientPath, formatConnectionString } from "@regio/protocol";

export interface LatencyResult {
  messages: number;
  /** Sent first at the same pace, not counted. */
  warmUp: number;
  intervalMs: number;
  sameNode: Percentiles;
  crossRegion: Percentiles;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

const ACCESS_KEY = "bench-access-key-of-at-least-32-bytes";

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

/** Messages sent before the measured ones, at the same pace (about 2 s at one every 2 ms). */
const WARM_UP = 1000;

export async function crossRegionLatency(messages = 2000, intervalMs = 2): Promise<LatencyResult> {
  const dirs: string[] = [];
  const kafkas: KafkaHandle[] = [];
  const clients: ClientSocket[] = [];
  const io = new Server();
  let cluster: Awaited<ReturnType<typeof startLocalCluster>> | undefined;
  let west: Server | undefined;
  try {
    for (let i = 0; i < 2; i++) {
      const dir = mkdtempSync(join(tmpdir(), "regio-bench-"));
      dirs.push(dir);
      // A low-pause collector, as a latency-sensitive production Kafka would run (tools/kafka/src/java.ts).
      kafkas.push(await startKafka({ port: 0, dataDir: dir, collector: "low-pause" }));
    }
    cluster = await startLocalCluster({
      accessKey: ACCESS_KEY,
      kafka: { eastus: kafkas[0]!.brokers, westeurope: kafkas[1]!.brokers },
      nodesPerRegion: 1,
      logLevel: "silent",
    });
    const eastNode = cluster.regions.get("eastus")![0]!;
    const westNode = cluster.regions.get("westeurope")![0]!;
    const regio = useRegio(io, {
      hub: "bench",
      connectionString: formatConnectionString(eastNode.url, ACCESS_KEY),
    });
    await regio.ready;
    // The west node needs an app server of its own to accept clients.
    west = new Server();
    const westRegio = useRegio(west, {
      hub: "bench",
      connectionString: formatConnectionString(westNode.url, ACCESS_KEY),
    });
    await westRegio.ready;

    const samples = { same: [] as number[], cross: [] as number[] };
    const open = (url: string, into: number[]) =>
      new Promise<ClientSocket>((resolve, reject) => {
        const socket = connectClient(url, {
          path: clientPath("bench"),
          transports: ["websocket"],
          forceNew: true,
        });
        socket.on("t", (sentAt: number) => into.push(performance.now() - sentAt));
        socket.once("connect", () => resolve(socket));
        socket.once("connect_error", reject);
      });
    clients.push(await open(eastNode.url, samples.same), await open(westNode.url, samples.cross));

    // One steady stream; its first WARM_UP messages are not counted: they warm up the path they
    // measure (V8's and the Kafka JVMs' compilers, Kafka's fetch sessions), at the same pace. A
    // burst does not: it crosses Kafka in a few batches, leaving the per-record code cold.
    for (let i = 0; i < WARM_UP + messages; i++) {
      if (i === WARM_UP) {
        samples.same.length = 0;
        samples.cross.length = 0;
      }
      io.emit("t", performance.now());
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    const deadline = Date.now() + 30_000;
    while ((samples.same.length < messages || samples.cross.length < messages) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (samples.cross.length < messages)
      throw new Error(`only ${samples.cross.length} of ${messages} arrived`);
    return {
      messages,
      warmUp: WARM_UP,
      intervalMs,
      sameNode: percentiles(samples.same),
      crossRegion: percentiles(samples.cross),
    };
  } finally {
    clients.forEach((c) => c.disconnect());
    await io.close();
    await west?.close();
    await cluster?.close();
    await Promise.allSettled(kafkas.map((k) => k.stop()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
