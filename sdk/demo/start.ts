/**
 * `npm start`: a broker and the demo chat app on this machine, URLs printed; Ctrl-C stops all.
 */
import { startBroker } from "@regio/broker";
import { formatConnectionString } from "../src/protocol/index.ts";
import { startChatServer } from "./chat-server.ts";

const ACCESS_KEY = process.env.REGIO_ACCESS_KEY ?? "demo-access-key";
const HUB = "chat";

const broker = await startBroker({
  accessKey: ACCESS_KEY,
  port: Number(process.env.REGIO_PORT ?? 7400),
  region: "local",
  cors: { origin: true },
});
const chat = await startChatServer({
  hub: HUB,
  connectionString: formatConnectionString(broker.url, ACCESS_KEY),
  brokerUrls: { [broker.region]: broker.url },
  port: Number(process.env.DEMO_PORT ?? 3000),
});

console.log(`
Regio is running.
  broker (region ${broker.region}):  ${broker.url}   health: ${broker.url}/healthz
  demo chat page:            ${chat.pageUrl}
  app servers connect with:  ${formatConnectionString(broker.url, ACCESS_KEY)}
Press Ctrl-C to stop.`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await chat.close();
  await broker.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
