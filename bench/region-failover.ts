/**
 * Time from a region's loss to the first delivery through the surviving region: two regions, each a
 * Kafka and two broker nodes (CLI processes); an app server linked to eastus (westeurope as its
 * second region) streams a numbered broadcast every 5 ms to WebSocket clients on westeurope's nodes;
 * then eastus's nodes and Kafka are SIGKILLed. Measured per run: kill -> first message delivered to
 * a survivor after the kill, kill -> delivery of the first message emitted after the kill, and the
 * messages lost or duplicated (both must be 0).
 */
import { Server } from "socket.io";
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import { startKafka, type KafkaHandle } from "@regio/dev-kafka";
import { useRegio } from "@regio/sdk";
import { clientPath, formatConnectionString } from "@regio/protocol";
import { killNode, startCliNode, type CliNode } from "../test/support/cli-node.ts";
import { ACCESS_KEY, HUB } from "../test/support/regio-harness.ts";
import { startDelayProxy } from "../test/support/delay-proxy.ts";

export interface FailoverRun {
  firstDeliveryMs: number;
  firstNewMessageMs: number;
  messages: number;
  lost: number;
  duplicates: number;
}

const until = async (check: () => boolean, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

export async function regionFailover(runs = 3): Promise<FailoverRun[]> {
  const results: FailoverRun[] = [];
  for (let run = 0; run < runs; run++) results.push(await oneRun(run));
  return results;
}

async function oneRun(run: number): Promise<FailoverRun> {
  const kafkas: KafkaHandle[] = [];
  const nodes: CliNode[] = [];
  const clients: ClientSocket[] = [];
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    const [east, west] = await Promise.all([startKafka({ port: 0 }), startKafka({ port: 0 })]);
    kafkas.push(east, west);
    const topic = `bench${run}${Date.now()}`;
    const flags = (region: string, own: KafkaHandle, peer: string, other: KafkaHandle) => [
      "--port=0",
      `--region=${region}`,
      `--kafka=${own.brokers}`,
      `--peer=${peer}=${other.brokers}`,
      "--lease-ms=2000",
      `--topic-events=${topic}.events`,
      `--topic-membership=${topic}.membership`,
      `--topic-nodes=${topic}.nodes`,
    ];
    for (const [id, region, own, peer, other] of [
      ["east-1", "eastus", east, "westeurope", west],
      ["east-2", "eastus", east, "westeurope", west],
      ["west-1", "westeurope", west, "eastus", east],
      ["west-2", "westeurope", west, "eastus", east],
    ] as const) {
      nodes.push(await startCliNode(id, flags(region, own, peer, other)));
    }
    const [east1, east2, west1, west2] = nodes as [CliNode, CliNode, CliNode, CliNode];
    const proxy = await startDelayProxy(west1.url, 25);
    cleanup.push(() => proxy.close());
    const io = new Server();
    io.on("connection", (socket) => socket.join("stream"));
    const regio = useRegio(io, {
      hub: HUB,
      regions: [
        { name: "eastus", connectionString: formatConnectionString(east1.url, ACCESS_KEY) },
        { name: "westeurope", connectionString: formatConnectionString(proxy.url, ACCESS_KEY) },
      ],
    });
    regio.onError(() => {});
    cleanup.push(async () => {
      await io.close();
      await regio.close();
    });
    await regio.ready;
    const local = new Server();
    local.on("connection", (socket) => socket.join("stream"));
    const localRegio = useRegio(local, {
      hub: HUB,
      connectionString: formatConnectionString(west1.url, ACCESS_KEY),
    });
    cleanup.push(async () => {
      await local.close();
      await localRegio.close();
    });
    await localRegio.ready;

    const seen: number[][] = [];
    const arrivals: Array<{ n: number; at: number }> = [];
    for (const node of [west1, west2]) {
      const client = connectClient(node.url, {
        path: clientPath(HUB),
        transports: ["websocket"],
        forceNew: true,
      });
      clients.push(client);
      const mine: number[] = [];
      seen.push(mine);
      client.on("n", (n: number) => {
        mine.push(n);
        arrivals.push({ n, at: performance.now() });
      });
      await new Promise<void>((resolve) => client.once("connect", () => resolve()));
    }
    let next = 0;
    const emittedAt: number[] = [];
    const ticker = setInterval(() => {
      emittedAt.push(performance.now());
      io.to("stream").emit("n", next++);
    }, 5);
    await until(() => seen.every((s) => s.length >= 100), 20_000, "survivors receive the stream");
    const killedAt = performance.now();
    await Promise.all([killNode(east1), killNode(east2), east.kill()]);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    clearInterval(ticker);
    const total = next;
    await until(() => seen.every((s) => s.length >= total), 30_000, "survivors got every message");
    const firstNew = emittedAt.findIndex((at) => at > killedAt);
    const firstDelivery = arrivals.find((a) => a.at > killedAt)!;
    const firstNewDelivery = arrivals.find((a) => a.n === firstNew)!;
    const all = seen.flat();
    return {
      firstDeliveryMs: firstDelivery.at - killedAt,
      firstNewMessageMs: firstNewDelivery.at - killedAt,
      messages: total,
      lost: seen.reduce((n, s) => n + (total - new Set(s).size), 0),
      duplicates: all.length - seen.reduce((n, s) => n + new Set(s).size, 0),
    };
  } finally {
    for (const client of clients) client.disconnect();
    for (const step of cleanup.reverse()) await step().catch(() => {});
    await Promise.all(nodes.map((node) => killNode(node)));
    await Promise.all(kafkas.map((kafka) => kafka.stop()));
  }
}
