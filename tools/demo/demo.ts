/**
 * The local demo: two regions on this machine, each with its own Kafka (fetched on first use) and
 * two broker nodes, the global endpoint in front of them (the one URL the page's clients use), and
 * the demo chat app linked in each region. With `traces`, Zipkin too, and every node and app server
 * sends it their spans.
 */
import { mkdirSync } from "node:fs";
import {
  createLogger,
  startGlobalEndpoint,
  startLocalCluster,
  type GlobalEndpointHandle,
  type LocalCluster,
} from "@regio/broker";
import { startKafka, type KafkaHandle } from "@regio/dev-kafka";
import { formatConnectionString } from "@regio/protocol";
import { startChatServer, type ChatServer } from "./chat-server.ts";
import { startDemoTracing, type DemoTracing } from "./demo-tracing.ts";

export const REGIONS = [
  { name: "eastus", kafkaPort: 19092, pagePort: 3000 },
  { name: "westeurope", kafkaPort: 29092, pagePort: 3001 },
];
const GLOBAL_PORT = 7300;

export interface Demo {
  cluster: LocalCluster;
  global: GlobalEndpointHandle;
  kafkas: KafkaHandle[];
  chats: ChatServer[];
  tracing: DemoTracing | undefined;
  close(): Promise<void>;
}

export async function startDemo(options: {
  accessKey: string;
  traces: boolean;
  logLevel: string;
}): Promise<Demo> {
  const kafkas: KafkaHandle[] = [];
  const chats: ChatServer[] = [];
  let cluster: LocalCluster | undefined;
  let global: GlobalEndpointHandle | undefined;
  let tracing: DemoTracing | undefined;
  const close = async () => {
    await Promise.allSettled(chats.map((chat) => chat.close()));
    await global?.close();
    await cluster?.close();
    await Promise.allSettled(kafkas.map((kafka) => kafka.stop()));
    await tracing?.close();
  };
  try {
    if (options.traces) {
      console.log("starting Zipkin (the first run fetches it from Maven Central)...");
      tracing = await startDemoTracing();
    }
    console.log("starting one Kafka per region (the first run fetches Kafka from Maven Central)...");
    for (const region of REGIONS) {
      const dataDir = new URL(`../../.cache/demo/${region.name}/`, import.meta.url).pathname;
      mkdirSync(dataDir, { recursive: true });
      // ZGC, not the tests' serial collector: a demo runs for long, and each serial young collection
      // stops Kafka for 18-25 ms every few seconds under traffic, the p99 of cross-region delivery.
      kafkas.push(await startKafka({ port: region.kafkaPort, dataDir, collector: "low-pause" }));
    }
    cluster = await startLocalCluster({
      accessKey: options.accessKey,
      kafka: Object.fromEntries(REGIONS.map((r, i) => [r.name, kafkas[i]!.brokers])),
      nodesPerRegion: 2,
      basePort: 7400,
      cors: { origin: true },
      logLevel: options.logLevel,
      telemetry: tracing?.nodeTelemetry,
    });
    // The same code as `regio global`, in this process: clients reach the regions through it.
    const started = cluster;
    global = await startGlobalEndpoint({
      regions: REGIONS.map((r) => ({ name: r.name, nodes: started.regions.get(r.name)!.map((n) => n.url) })),
      port: GLOBAL_PORT,
      logger: createLogger({ component: "global" }, options.logLevel),
    });
    // The page connects through the global endpoint by default; one node directly is an option.
    const brokerUrls = {
      "global (nearest healthy region)": global.url,
      ...Object.fromEntries(started.all().map((node) => [`${node.region} / ${node.nodeId}`, node.url])),
    };
    for (const region of REGIONS) {
      const seed = started.regions.get(region.name)![0]!;
      chats.push(
        await startChatServer({
          hub: "chat",
          connectionString: formatConnectionString(seed.url, options.accessKey),
          brokerUrls,
          port: region.pagePort,
          tracerProvider: tracing?.appTracerProvider(region.name),
        }),
      );
    }
    return { cluster, global, kafkas, chats, tracing, close };
  } catch (error) {
    await close();
    throw error;
  }
}
