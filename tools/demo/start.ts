/**
 * `npm start`: two regions on this machine, each with its own Kafka (fetched on first use) and two
 * broker nodes, the global endpoint in front of them (the one URL the page's clients use), plus
 * the demo chat app linked in each region; URLs printed; Ctrl-C stops it all.
 * `npm run traces` (`npm start -- --traces`): the same, with Zipkin, and every node and app server
 * tracing into it.
 */
import { REGIONS, startDemo, type Demo } from "./demo.ts";

// A node takes keys of 32 bytes or more; this one is public: set REGIO_ACCESS_KEY for anything else.
const ACCESS_KEY = process.env.REGIO_ACCESS_KEY ?? "demo-access-key-of-at-least-32-bytes";
const traces = process.argv.includes("--traces");

let demo: Demo | undefined;
let stopping = false;

async function stop(code = 0): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log("\nstopping...");
    await demo?.close();
  }
  process.exit(code);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());

try {
  demo = await startDemo({ accessKey: ACCESS_KEY, traces, logLevel: process.env.REGIO_LOG_LEVEL ?? "warn" });
  const { cluster, global, kafkas, chats, tracing } = demo;
  console.log(`
Regio is running: two regions, two broker nodes each, one Kafka each.
${cluster
  .all()
  .map((node) => `  broker ${node.nodeId.padEnd(14)} ${node.url}   (${node.url}/readyz, ${node.url}/metrics)`)
  .join("\n")}
  Kafka: ${REGIONS.map((r, i) => `${r.name} ${kafkas[i]!.brokers}`).join(", ")}
  global endpoint (clients connect here):     ${global.url}   (${global.url}/regions)
  demo chat page (app server in eastus):      ${chats[0]!.pageUrl}
  demo chat page (app server in westeurope):  ${chats[1]!.pageUrl}${
    tracing
      ? `
  Zipkin (every message's trace):             ${tracing.uiUrl}`
      : ""
  }
  Open the page twice (once per app server) and chat across regions. The page connects through the
  global endpoint and shows the node it landed on; it reconnects the same way if that node goes.${
    tracing
      ? `
  Then open Zipkin, "Run query", and pick a trace: a chat message from the client to its node, the
  app server's handler, and through Kafka to the other region's nodes and their clients.`
      : ""
  }
Press Ctrl-C to stop.`);
} catch (error) {
  console.error("could not start:", error);
  await stop(1);
}
