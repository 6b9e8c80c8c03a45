/**
 * `npm run traces:screenshot`: takes docs/zipkin-trace.png, the README's picture of one chat
 * message's trace across regions, from the real thing: the demo with Zipkin (`npm run traces`), a
 * client on an eastus node and one on a westeurope node in the same room, one message, and Zipkin's
 * own UI in headless Chromium (Debian's `chromium` package: `apt-get install -y chromium`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { io as connectClient, type Socket } from "socket.io-client";
import { clientPath } from "@regio/protocol";
import { startDemo } from "./demo.ts";

const OUTPUT = new URL("../../docs/zipkin-trace.png", import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

interface ZipkinSpan {
  traceId: string;
  name: string;
  tags?: Record<string, string>;
}

const demo = await startDemo({
  accessKey: "demo-access-key-of-at-least-32-bytes",
  traces: true,
  logLevel: "warn",
});
const clients: Socket[] = [];
const profile = mkdtempSync(join(tmpdir(), "regio-chromium-"));
try {
  const zipkin = demo.tracing!.zipkinUrl;
  const east = demo.cluster.regions.get("eastus")![0]!;
  const west = demo.cluster.regions.get("westeurope")![0]!;
  const client = async (url: string, name: string) => {
    const socket = connectClient(url, {
      path: clientPath("chat"),
      auth: { name },
      transports: ["websocket"],
    });
    clients.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    });
    await socket.emitWithAck("join", "lobby");
    return socket;
  };
  const ada = await client(east.url, "ada");
  const bob = await client(west.url, "bob");
  const heard = new Promise((resolve) => bob.once("said", resolve));
  ada.emit("say", "hello from eastus");
  await heard;

  // The trace of ada's message, once Zipkin has its last span: the westeurope node's delivery.
  let traceId: string | undefined;
  const deadline = Date.now() + 30_000;
  while (!traceId) {
    if (Date.now() > deadline) throw new Error("Zipkin never got the whole trace of the message");
    const response = await fetch(`${zipkin}/api/v2/traces?serviceName=regio-demo-chat&spanName=say&limit=10`);
    const traces = (await response.json()) as ZipkinSpan[][];
    const complete = traces.find((spans) =>
      spans.some((s) => s.name === "deliver chat" && s.tags?.["cloud.region"] === "westeurope"),
    );
    traceId = complete?.[0]?.traceId;
    if (!traceId) await new Promise((resolve) => setTimeout(resolve, 500));
  }

  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${zipkin}/zipkin/traces/${traceId}`);
    await page.getByText("deliver chat").first().waitFor({ timeout: 30_000 });
    await page.waitForLoadState("networkidle");
    // The detail panel shows the last hop: bob's node in westeurope writing to its one client.
    for (const row of await page.getByText("deliver chat").all()) {
      await row.click();
      if ((await page.getByText(west.nodeId, { exact: true }).count()) > 0) break;
    }
    await page.screenshot({ path: OUTPUT });
  } finally {
    await browser.close();
  }
  console.log(`wrote ${OUTPUT} (trace ${traceId})`);
} finally {
  clients.forEach((socket) => socket.disconnect());
  rmSync(profile, { recursive: true, force: true });
  await demo.close();
}
process.exit(0);
