/**
 * `npm run demo:azure`: the demo chat's app servers on this machine, one linked to each region of
 * the Regio deployment of the selected Pulumi stack (README, "Deploy to Azure"), as `npm start`
 * runs one per local region. Each serves the chat page (http://127.0.0.1:3000/, :3001/, ...); the
 * page connects the browser to the deployment over HTTPS, through the global endpoint (nearest
 * ready region) or one region's endpoint, as picked on the page.
 *
 * Reads `pulumi stack output --json --show-secrets` (run it where `pulumi up` ran, or set
 * PULUMI_STACK). A stack with `corsOrigins` must list the pages' origins.
 */
import { execFileSync } from "node:child_process";
import { startChatServer } from "./chat-server.ts";

interface StackOutputs {
  clientEndpoint: string;
  regionEndpoints: Record<string, { endpoint: string; nodes: string[] }>;
  regionConnectionStrings: Record<string, string>;
}

function stackOutputs(): StackOutputs {
  const args = ["stack", "output", "--json", "--show-secrets"];
  if (process.env.PULUMI_STACK) args.push("--stack", process.env.PULUMI_STACK);
  const outputs = JSON.parse(execFileSync("pulumi", args, { encoding: "utf8" })) as Partial<StackOutputs>;
  if (!outputs.clientEndpoint || !outputs.regionEndpoints || !outputs.regionConnectionStrings) {
    throw new Error(
      "the stack has no clientEndpoint/regionEndpoints/regionConnectionStrings: run `pulumi up` first",
    );
  }
  return outputs as StackOutputs;
}

const outputs = stackOutputs();
const brokerUrls = {
  "nearest region (global endpoint)": outputs.clientEndpoint,
  ...Object.fromEntries(
    Object.entries(outputs.regionEndpoints).map(([region, r]) => [`${region} only`, r.endpoint]),
  ),
};
const basePort = Number(process.env.PORT ?? 3000);
const chats = await Promise.all(
  Object.entries(outputs.regionConnectionStrings).map(([region, connectionString], i) =>
    startChatServer({ hub: "chat", connectionString, brokerUrls, port: basePort + i }).then((chat) => ({
      region,
      chat,
    })),
  ),
);
console.log(`demo chat app servers linked to ${outputs.clientEndpoint}:
${chats.map(({ region, chat }) => `  app server in ${region}: ${chat.pageUrl}`).join("\n")}
  Open a page in two browsers (or windows), pick a region in each, and chat across regions.
Press Ctrl-C to stop.`);
const stop = async () => {
  await Promise.allSettled(chats.map(({ chat }) => chat.close()));
  process.exit(0);
};
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
