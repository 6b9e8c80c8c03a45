/**
 * `npm start`: two regions on this machine, each with its own Kafka (fetched on first use) and two
 * broker nodes, the global endpoint in front of them (the one URL the page's clients use), plus
 * the demo chat app linked in each region; URLs printed; Ctrl-C stops it all.
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

// A node takes keys of 32 bytes or more; this one is public: set REGIO_ACCESS_KEY for anything else.
const ACCESS_KEY = process.env.REGIO_ACCESS_KEY ?? "demo-access-key-of-at-least-32-bytes";
const GLOBAL_PORT = 7300;
// Broker nodes take consecutive ports from 7400 (eastus-1, eastus-2, westeurope-1, westeurope-2).
const REGIONS = [
  { name: "eastus", kafkaPort: 19092, pagePort: 3000 },
  { name: "westeurope", kafkaPort: 29092, pagePort: 3001 },
];

const kafkas: KafkaHandle[] = [];
let cluster: LocalCluster | undefined;
let global: GlobalEndpointHandle | undefined;
const chats: ChatServer[] = [];
let stopping = false;

async function stop(code = 0): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log("\nstopping...");
    await Promise.allSettled(chats.map((chat) => chat.close()));
    await global?.close();
    await cluster?.close();
    await Promise.allSettled(kafkas.map((kafka) => kafka.stop()));
  }
  process.exit(code);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());

try {
  console.log("starting one Kafka per region (the first run fetches Kafka from Maven Central)...");
  for (const region of REGIONS) {
    const dataDir = new URL(`../../.cache/demo/${region.name}/`, import.meta.url).pathname;
    mkdirSync(dataDir, { recursive: true });
    kafkas.push(await startKafka({ port: region.kafkaPort, dataDir }));
  }
  cluster = await startLocalCluster({
    accessKey: ACCESS_KEY,
    kafka: Object.fromEntries(REGIONS.map((r, i) => [r.name, kafkas[i]!.brokers])),
    nodesPerRegion: 2,
    basePort: 7400,
    cors: { origin: true },
    logLevel: process.env.REGIO_LOG_LEVEL ?? "warn",
  });
  // The same code as `regio global`, in this process: clients reach the regions through it.
  global = await startGlobalEndpoint({
    regions: REGIONS.map((r) => ({ name: r.name, nodes: cluster!.regions.get(r.name)!.map((n) => n.url) })),
    port: GLOBAL_PORT,
    logger: createLogger({ component: "global" }, process.env.REGIO_LOG_LEVEL ?? "warn"),
  });
  // The page connects through the global endpoint by default; one node directly is an option.
  const brokerUrls = {
    "global (nearest healthy region)": global.url,
    ...Object.fromEntries(cluster.all().map((node) => [`${node.region} / ${node.nodeId}`, node.url])),
  };
  for (const region of REGIONS) {
    const seed = cluster.regions.get(region.name)![0]!;
    chats.push(
      await startChatServer({
        hub: "chat",
        connectionString: formatConnectionString(seed.url, ACCESS_KEY),
        brokerUrls,
        port: region.pagePort,
      }),
    );
  }
  console.log(`
Regio is running: two regions, two broker nodes each, one Kafka each.
${cluster
  .all()
  .map((node) => `  broker ${node.nodeId.padEnd(14)} ${node.url}   (${node.url}/readyz)`)
  .join("\n")}
  Kafka: ${REGIONS.map((r, i) => `${r.name} ${kafkas[i]!.brokers}`).join(", ")}
  global endpoint (clients connect here):     ${global.url}   (${global.url}/regions)
  demo chat page (app server in eastus):      ${chats[0]!.pageUrl}
  demo chat page (app server in westeurope):  ${chats[1]!.pageUrl}
  Open the page twice (once per app server) and chat across regions. The page connects through the
  global endpoint and shows the node it landed on; it reconnects the same way if that node goes.
Press Ctrl-C to stop.`);
} catch (error) {
  console.error("could not start:", error);
  await stop(1);
}
