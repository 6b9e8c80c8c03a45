/**
 * Connection state recovery at scale: 1,000 socket.io clients (default reconnection settings)
 * connect through `regio global` to a node, an app server with recovery on streams a numbered
 * broadcast to all of them, then their node (or their whole region: nodes and Kafka) is SIGKILLed.
 * Measured: the share of the moved clients that recovered their socket, the time from the kill to
 * each one's recovery (p50/p99), and duplicated and missing messages over all clients (both 0).
 */
import { Server } from "socket.io";
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import { startKafka, type KafkaHandle } from "@regio/dev-kafka";
import { useRegio } from "@regio/sdk";
import { clientPath, formatConnectionString } from "@regio/protocol";
import { killNode, startCliNode, type CliNode } from "../test/support/cli-node.ts";
import { startCliGlobal, stopProcess } from "../test/support/cli-global.ts";
import { startDelayProxy } from "../test/support/delay-proxy.ts";
import { ACCESS_KEY, HUB } from "../test/support/regio-harness.ts";

export interface RecoveryResult {
  loss: "node" | "region";
  clients: number;
  moved: number;
  recovered: number;
  p50Ms: number;
  p99Ms: number;
  duplicates: number;
  missing: number;
}

const until = async (check: () => boolean, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

const percentile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

export async function recoveryAfterLoss(
  loss: "node" | "region",
  clientCount = 1000,
): Promise<RecoveryResult> {
  const kafkas: KafkaHandle[] = [];
  const nodes: CliNode[] = [];
  const clients: ClientSocket[] = [];
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    const regions = loss === "region" ? ["eastus", "westeurope"] : ["eastus"];
    for (const _ of regions) kafkas.push(await startKafka({ port: 0 }));
    const topic = `brec${Date.now()}`;
    const flags = (i: number) => [
      "--port=0",
      `--region=${regions[i]}`,
      `--kafka=${kafkas[i]!.brokers}`,
      ...kafkas.flatMap((k, j) => (j === i ? [] : [`--peer=${regions[j]}=${k.brokers}`])),
      "--lease-ms=2000",
      `--topic-events=${topic}.events`,
      `--topic-membership=${topic}.membership`,
      `--topic-nodes=${topic}.nodes`,
    ];
    // node loss: one region of two nodes; region loss: two regions of one node each.
    const layout = loss === "node" ? [0, 0] : [0, 1];
    for (const [n, region] of layout.entries()) nodes.push(await startCliNode(`b${n + 1}`, flags(region)));
    const [first, second] = nodes as [CliNode, CliNode];
    // Clients start on the node that dies: the other one is farther (a delaying proxy in front).
    const farSecond = await startDelayProxy(second.url, 10);
    cleanup.push(() => farSecond.close());
    const regionFlags =
      loss === "node"
        ? [`--region=eastus=${first.url},${farSecond.url}`]
        : [`--region=eastus=${first.url}`, `--region=westeurope=${farSecond.url}`];
    const global = await startCliGlobal(["--port=0", ...regionFlags, "--probe-interval=250"]);
    cleanup.push(() => stopProcess(global.child));

    const io = new Server({ connectionStateRecovery: { maxDisconnectionDuration: 60_000 } });
    io.on("connection", (socket) => socket.join("all"));
    const regio = useRegio(io, {
      hub: HUB,
      ...(loss === "node"
        ? { connectionString: formatConnectionString(first.url, ACCESS_KEY) }
        : {
            regions: [
              { name: "eastus", connectionString: formatConnectionString(first.url, ACCESS_KEY) },
              // Through the delaying proxy too: the SDK links to the nearest region, which must be
              // eastus (the clients' region), or the sessions would live where its link is.
              { name: "westeurope", connectionString: formatConnectionString(farSecond.url, ACCESS_KEY) },
            ],
          }),
    });
    regio.onError(() => {});
    cleanup.push(async () => {
      await io.close();
      await regio.close();
    });
    await regio.ready;
    if (loss === "region") {
      // The surviving region's own app server (the streamer moves there too, after the loss).
      const local = new Server({ connectionStateRecovery: { maxDisconnectionDuration: 60_000 } });
      local.on("connection", (socket) => socket.join("all"));
      const localRegio = useRegio(local, {
        hub: HUB,
        connectionString: formatConnectionString(second.url, ACCESS_KEY),
      });
      cleanup.push(async () => {
        await local.close();
        await localRegio.close();
      });
      await localRegio.ready;
    }

    const received: number[][] = [];
    const onNode: string[] = [];
    for (let i = 0; i < clientCount; i++) {
      const client = connectClient(global.url, {
        path: clientPath(HUB),
        transports: ["websocket"],
        forceNew: true,
      });
      clients.push(client);
      const mine: number[] = [];
      received.push(mine);
      client.on("n", (n: number) => mine.push(n));
      await new Promise<void>((resolve) => client.once("connect", () => resolve()));
      onNode.push(client.io.engine.id.split(".").pop()!);
    }
    const moving = clients.map((_, i) => i).filter((i) => onNode[i] === first.nodeId);
    if (moving.length === 0)
      throw new Error(`no client is on ${first.nodeId}, the node to lose: nothing to measure`);

    let next = 0;
    const ticker = setInterval(() => io.to("all").emit("n", next++), 100);
    await until(() => received.every((r) => r.length >= 5), 30_000, "the stream reaches every client");
    const recoveredAt = new Map<number, number>();
    for (const i of moving) {
      clients[i]!.once("connect", () => {
        if (clients[i]!.recovered) recoveredAt.set(i, Date.now());
      });
    }
    const killedAt = Date.now();
    await Promise.all([killNode(first), ...(loss === "region" ? [kafkas[0]!.kill()] : [])]);
    await until(() => moving.every((i) => clients[i]!.connected), 60_000, "the moved clients are back");
    const mark = next;
    await until(() => received.every((r) => r.length >= mark + 10), 60_000, "the stream goes on");
    clearInterval(ticker);
    const total = next;
    // Missing messages are counted, not waited for forever.
    await until(() => received.every((r) => new Set(r).size >= total), 30_000, "every message arrived").catch(
      () => undefined,
    );
    const times = [...recoveredAt.values()].map((at) => at - killedAt).sort((a, b) => a - b);
    return {
      loss,
      clients: clientCount,
      moved: moving.length,
      recovered: recoveredAt.size,
      p50Ms: times.length > 0 ? percentile(times, 0.5) : NaN,
      p99Ms: times.length > 0 ? percentile(times, 0.99) : NaN,
      duplicates: received.reduce((n, r) => n + r.length - new Set(r).size, 0),
      missing: received.reduce((n, r) => n + total - new Set(r).size, 0),
    };
  } finally {
    for (const client of clients) client.disconnect();
    for (const step of cleanup.reverse()) await step().catch(() => {});
    await Promise.all(nodes.map((node) => killNode(node)));
    await Promise.all(kafkas.map((kafka) => kafka.stop()));
  }
}
