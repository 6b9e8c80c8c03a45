import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { startKafka, type KafkaHandle } from "@regio/dev-kafka";
import type { RegionStatus } from "@regio/broker";
import { connect, startAppServer, stopAppServer, type AppServer } from "../support/regio-harness.ts";
import { killNode, startCliNode, type CliNode } from "../support/cli-node.ts";
import { measuresNearer, startCliGlobal, stopProcess, type CliGlobal } from "../support/cli-global.ts";
import { startDelayProxy } from "../support/delay-proxy.ts";
import { collect, connected, until } from "../support/events.ts";

/** The node that serves a client: broker session ids end with `.<nodeId>`. */
const nodeOf = (client: ClientSocket) => client.io.engine.id.split(".").pop()!;

/**
 * Lose a region, lose nothing: two regions, each with its own Kafka and two broker node processes,
 * an app server in each, and `regio global` (a process too) in front. Clients connect through the
 * global endpoint; their whole region is SIGKILLed; they come back in the other region by themselves.
 */
describe("regio global: a lost region's clients come back in the other region", () => {
  const nodes: CliNode[] = [];
  let global: CliGlobal | undefined;
  const kafkas: KafkaHandle[] = [];
  const dataDirs: string[] = [];
  const apps: AppServer[] = [];
  const clients: ClientSocket[] = [];
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    clients.splice(0).forEach((c) => c.disconnect());
    if (global) await stopProcess(global.child);
    await Promise.all(nodes.splice(0).map(killNode));
    await Promise.allSettled(apps.splice(0).map(stopAppServer));
    await Promise.allSettled(closers.splice(0).map((close) => close()));
    await Promise.allSettled(kafkas.splice(0).map((kafka) => kafka.stop()));
    for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const kafkaWithData = async (): Promise<KafkaHandle> => {
    const dataDir = mkdtempSync(join(tmpdir(), "regio-global-kafka-"));
    dataDirs.push(dataDir);
    const kafka = await startKafka({ port: 0, dataDir });
    kafkas.push(kafka);
    return kafka;
  };

  it("moves every client of a SIGKILLed region to the surviving one within seconds, and back to it once it returns", async () => {
    const [east, west] = await Promise.all([kafkaWithData(), kafkaWithData()]);
    const node = async (nodeId: string, region: string, port = 0) => {
      const [own, peer] =
        region === "eastus" ? [east, `westeurope=${west.brokers}`] : [west, `eastus=${east.brokers}`];
      const started = await startCliNode(nodeId, [
        `--port=${port}`,
        `--region=${region}`,
        `--kafka=${own.brokers}`,
        `--peer=${peer}`,
      ]);
      nodes.push(started);
      return started;
    };
    // One after the other: nodes that start together on new topics can trip over each other.
    const eastNodes: CliNode[] = [await node("e1", "eastus"), await node("e2", "eastus")];
    const westNodes: CliNode[] = [await node("w1", "westeurope"), await node("w2", "westeurope")];
    apps.push(await startAppServer({ url: eastNodes[0]!.url }));
    const westApp = await startAppServer({ url: westNodes[0]!.url });
    apps.push(westApp);

    // westeurope is listed first but is farther: 30 ms of added latency each way to its nodes.
    const westProxies = await Promise.all(westNodes.map((n) => startDelayProxy(n.url, 30)));
    closers.push(...westProxies.map((proxy) => () => proxy.close()));
    global = await startCliGlobal([
      "--port=0",
      `--region=westeurope=${westProxies.map((p) => p.url).join(",")}`,
      `--region=eastus=${eastNodes.map((n) => n.url).join(",")}`,
    ]);
    const globalUrl = global.url;
    const regions = async () =>
      ((await (await fetch(`${globalUrl}/regions`)).json()) as { regions: RegionStatus[] }).regions;
    const healthy = async (name: string) => (await regions()).find((r) => r.name === name)!.healthy;
    await until(async () => (await healthy("eastus")) && (await healthy("westeurope")), "both regions up");

    // Clients of both transports, socket.io-client's own reconnection on, through the global URL.
    const transports = ["websocket", "polling", "websocket", "polling", "websocket", "polling"];
    const connectedAt = new Map<ClientSocket, number>();
    for (const transport of transports) {
      const client = connect({ url: globalUrl }, "/", { transports: [transport], reconnection: true });
      client.on("connect", () => connectedAt.set(client, Date.now()));
      clients.push(client);
    }
    await Promise.all(clients.map(connected));
    // The nearest region, not the first listed.
    expect(clients.map(nodeOf).every((id) => id === "e1" || id === "e2")).toBe(true);

    // The whole region dies at once: its nodes and its Kafka.
    const killedAt = Date.now();
    await Promise.all([...eastNodes.map(killNode), east.kill()]);
    await until(
      () => clients.every((c) => c.connected && connectedAt.get(c)! > killedAt),
      "every client reconnected",
      30_000,
    );
    const reconnectMs = Math.max(...clients.map((c) => connectedAt.get(c)! - killedAt));
    console.log(`all ${clients.length} clients were back, in westeurope, ${reconnectMs} ms after the kill`);
    expect(clients.map(nodeOf).every((id) => id === "w1" || id === "w2")).toBe(true);
    expect(reconnectMs).toBeLessThan(10_000);
    // And they are served there: a broadcast from the surviving region's app server reaches each.
    const news = clients.map((c) => collect<string>(c, "news", 1));
    westApp.io.emit("news", "from westeurope");
    expect(await Promise.all(news)).toEqual(clients.map(() => ["from westeurope"]));

    // The region comes back (same Kafka data, ports and node ids): new clients go there again.
    await east.restart();
    const port = (n: CliNode) => Number(new URL(n.url).port);
    eastNodes.splice(
      0,
      2,
      await node("e1", "eastus", port(eastNodes[0]!)),
      await node("e2", "eastus", port(eastNodes[1]!)),
    );
    await until(() => healthy("eastus"), "eastus is healthy again", 20_000);
    // The east nodes relay new sessions to westeurope until the east app server has re-linked; then
    // they serve them: new clients through the global endpoint are in eastus again.
    const inEast = (client: ClientSocket) => ["e1", "e2"].includes(nodeOf(client));
    // Each east node serves new sessions itself once the east app server has linked to it (it links
    // to its seed e1 first, then to e2 when e1's Hello names it): until then e2 still relays.
    const servesItself = async (eastNode: CliNode) => {
      const probe = await connected(connect({ url: eastNode.url }, "/", { transports: ["polling"] }));
      probe.disconnect();
      return nodeOf(probe) === eastNode.nodeId;
    };
    await until(
      async () => (await servesItself(eastNodes[0]!)) && (await servesItself(eastNodes[1]!)),
      "both east nodes serve new sessions themselves",
      30_000,
    );
    // ...and once the endpoint measures it nearer again (a restarted node's first probes can be slow).
    await until(
      () => measuresNearer(globalUrl, "eastus", "westeurope"),
      "the endpoint measures eastus nearer again",
      30_000,
    );
    const newcomers = await Promise.all(
      ["websocket", "polling"].map((transport) =>
        connected(connect({ url: globalUrl }, "/", { transports: [transport], reconnection: true })),
      ),
    );
    clients.push(...newcomers);
    expect(newcomers.every(inEast)).toBe(true);
  }, 240_000);
});
