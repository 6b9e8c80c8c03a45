import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startLocalCluster, type BrokerHandle, type LocalCluster } from "@regio/broker";
import { clientPath, ErrorCode } from "@regio/protocol";
import {
  ACCESS_KEY,
  connect,
  HUB,
  startAppServer,
  stopAppServer,
  TRANSPORTS,
  type AppServer,
} from "../support/regio-harness.ts";
import { connected, once, until } from "../support/events.ts";
import { uniqueTopics } from "../support/topics.ts";

/**
 * An app deployed in one region only: its clients may land in any region. A node whose region has
 * no app server of the hub relays a new session to the nearest node through which one serves it;
 * only when none does anywhere is the client refused.
 */
describe("clients are served wherever they land", () => {
  let cluster: LocalCluster;
  let app: AppServer;
  let westNode: BrokerHandle;

  beforeAll(async () => {
    cluster = await startLocalCluster({
      accessKey: ACCESS_KEY,
      kafka: inject("kafka"),
      nodesPerRegion: 1,
      topics: uniqueTopics("relay"),
      leaseMs: 2000,
      logLevel: process.env.REGIO_LOG_LEVEL ?? "silent",
    });
    const eastNode = cluster.regions.get("eastus")![0]!;
    westNode = cluster.regions.get("westeurope")![0]!;
    app = await startAppServer(eastNode, (io) => {
      io.on("connection", (socket) => {
        socket.on("where", (ack: (region: string) => void) => ack("served by the eastus app server"));
      });
    });
    // westeurope learns from eastus's heartbeats that an app server serves the hub there.
    await until(
      () => westNode.nodes().some((n) => n.region === "eastus" && (n.appServers[HUB]?.length ?? 0) > 0),
      "westeurope knows eastus serves the hub",
    );
  }, 120_000);

  afterAll(async () => {
    await stopAppServer(app);
    await cluster.close();
  });

  it.each(Object.entries(TRANSPORTS))(
    "serves a client of a region without app servers with an app server of another region (%s)",
    async (_name, transports) => {
      expect(westNode.hub(HUB)?.hasAppServers ?? false).toBe(false);
      const client = await connected(connect(westNode, "/", transports));
      try {
        expect(await client.timeout(5000).emitWithAck("where")).toBe("served by the eastus app server");
        const news = once<[string]>(client, "news");
        app.io.emit("news", "to everyone");
        expect((await news)[0]).toBe("to everyone");
        // The session lives on the eastus node: its id names that node.
        expect(client.io.engine.id).toMatch(/\.eastus-1$/);
      } finally {
        client.disconnect();
      }
    },
  );

  it("refuses with NO_APP_SERVER only when no app server serves the hub anywhere", async () => {
    const response = await fetch(`${westNode.url}${clientPath("lonely")}/?EIO=4&transport=polling`);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { code: string }).code).toBe(ErrorCode.NoAppServer);
  });
});
