/**
 * `npm run demo:azure`: the demo chat's app server on this machine, linked to the Regio deployment
 * of the selected Pulumi stack (README, "Deploy to Azure"). It serves the chat page at
 * http://127.0.0.1:3000/; the page connects the browser to the deployment over HTTPS: through the
 * global endpoint (nearest ready region) or one region's endpoint, as picked on the page.
 *
 * Reads `pulumi stack output --json --show-secrets` (run it where `pulumi up` ran, or set
 * PULUMI_STACK); the page's origin must be in the stack's `corsOrigins` for HTTP long-polling.
 */
import { execFileSync } from "node:child_process";
import { startChatServer } from "./chat-server.ts";

interface StackOutputs {
  clientEndpoint: string;
  connectionString: string;
  regionEndpoints: Record<string, { endpoint: string; nodes: string[] }>;
}

function stackOutputs(): StackOutputs {
  const args = ["stack", "output", "--json", "--show-secrets"];
  if (process.env.PULUMI_STACK) args.push("--stack", process.env.PULUMI_STACK);
  const outputs = JSON.parse(execFileSync("pulumi", args, { encoding: "utf8" })) as Partial<StackOutputs>;
  if (!outputs.clientEndpoint || !outputs.connectionString || !outputs.regionEndpoints) {
    throw new Error(
      "the stack has no clientEndpoint/connectionString/regionEndpoints outputs: run `pulumi up` first",
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
const chat = await startChatServer({
  hub: "chat",
  connectionString: outputs.connectionString,
  brokerUrls,
  port: Number(process.env.PORT ?? 3000),
});
console.log(`demo chat app server linked to ${outputs.clientEndpoint}
  open ${chat.pageUrl} in two browsers (or windows), pick a region in each, and chat.
Press Ctrl-C to stop.`);
const stop = async () => {
  await chat.close();
  process.exit(0);
};
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
