/**
 * When the SDK's periodic re-send sends an operation again while the node acknowledges nothing (its
 * Kafka is down), under a steady stream of operations: a tool behind ADR 0021's numbers, not a
 * scenario of `npm run bench`. A LinkSet (default settings: stale after 3 s, looked at every 1.5 s)
 * links to a scripted node that acknowledges nothing, and sends one operation every 10 ms for
 * `seconds`; printed: operation 1's re-sends, in seconds after it was first sent, and how many
 * copies the node received in all.
 *
 *   npx tsx --conditions=@regio/source bench/resend-backoff.ts [seconds]
 */
import { decodeMessage, MessageType } from "@regio/protocol";
import { LinkSet, newLinkState } from "../sdk/src/link/link-set.ts";
import { ACCESS_KEY, HUB } from "../test/support/regio-harness.ts";
import { startScriptedNode } from "../test/support/scripted-node.ts";

const seconds = Number(process.argv[2] ?? "70");
const node = await startScriptedNode();
const links = new LinkSet(
  { endpoint: new URL(node.url), hub: HUB, accessKey: ACCESS_KEY, appServerId: "resend-backoff" },
  newLinkState("resend-backoff"),
);
links.start();
const link = await node.nextLink();
const startedAt = Date.now();
const resendsOf1: number[] = [];
let received = 0;
link.ws.on("message", (data: Buffer) => {
  const message = decodeMessage(data);
  if (message.type !== MessageType.Broadcast) return;
  received++;
  if (message.seq === 1) resendsOf1.push((Date.now() - startedAt) / 1000);
});
let sent = 0;
const stream = setInterval(() => {
  const packet = [`2["n",${sent++}]`];
  links.sendOperation({
    type: MessageType.Broadcast,
    target: { nsp: "/", rooms: [], except: [] },
    packet,
    flags: 0,
  });
}, 10);
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
clearInterval(stream);
console.log(
  `${sent} operations sent, ${received - sent} re-sent; operation 1 sent at ` +
    `${resendsOf1.map((t) => t.toFixed(1)).join(", ")} s`,
);
await links.close();
await node.close();
