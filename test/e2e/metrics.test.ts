import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { startLocalCluster, type BrokerHandle, type LocalCluster } from "@regio/broker";
import {
  ACCESS_KEY,
  connect,
  HUB,
  startAppServer,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { collect, connected, until } from "../support/events.ts";
import { scrape } from "../support/prometheus.ts";
import { uniqueTopics } from "../support/topics.ts";

/**
 * What an operator reads: every node's `/metrics` (Prometheus text), scraped before and after
 * traffic. Two regions on their own real Kafkas, one node each; an app server in eastus.
 */
describe("node metrics at /metrics", () => {
  let cluster: LocalCluster;
  let east: BrokerHandle;
  let west: BrokerHandle;
  let app: AppServer;
  let westApp: AppServer;
  const clients: ClientSocket[] = [];
  const hub = { hub: HUB };

  beforeAll(async () => {
    cluster = await startLocalCluster({
      accessKey: ACCESS_KEY,
      kafka: inject("kafka"),
      nodesPerRegion: 1,
      topics: uniqueTopics("metrics"),
      leaseMs: 3000,
      logLevel: process.env.REGIO_LOG_LEVEL ?? "silent",
    });
    east = cluster.regions.get("eastus")![0]!;
    west = cluster.regions.get("westeurope")![0]!;
    const setup = (io: AppServer["io"]) =>
      io.on("connection", (socket) => socket.on("ping", (ack: (n: string) => void) => ack("pong")));
    app = await startAppServer(east, setup);
    // The west node's own clients are served by an app server linked there.
    westApp = await startAppServer(west, setup);
  }, 120_000);

  afterAll(async () => {
    clients.forEach((c) => c.disconnect());
    await Promise.allSettled([app, westApp].filter(Boolean).map(stopAppServer));
    await cluster?.close();
  });

  it("counts sessions, packets and bytes, app links, operations and replication as traffic flows", async () => {
    const before = { east: await scrape(east.url), west: await scrape(west.url) };
    expect(before.east("regio_app_links", hub)).toBe(1);
    expect(before.east("regio_ready")).toBe(1);
    expect(before.east("regio_publish_buffer_bytes")).toBe(0);
    expect(before.east("regio_client_sessions", { ...hub, transport: "websocket" })).toBe(0);
    const operationsBefore = before.east("regio_operations_total", { ...hub, type: "broadcast" }) ?? 0;

    const websocket = await connected(connect(east, "/", { transports: ["websocket"] }));
    const polling = await connected(connect(east, "/", { transports: ["polling"] }));
    const remote = await connected(connect(west, "/", { transports: ["websocket"] }));
    clients.push(websocket, polling, remote);
    expect(await websocket.emitWithAck("ping")).toBe("pong");
    const broadcasts = 20;
    const received = [websocket, polling, remote].map((c) => collect(c, "n", broadcasts));
    for (let i = 0; i < broadcasts; i++) app.io.emit("n", "x".repeat(100));
    await Promise.all(received);

    const after = { east: await scrape(east.url), west: await scrape(west.url) };
    const e = after.east;
    expect(e("regio_client_sessions", { ...hub, transport: "websocket" })).toBe(1);
    expect(e("regio_client_sessions", { ...hub, transport: "polling" })).toBe(1);
    expect(e("regio_client_sockets", hub)).toBe(2);
    expect(e("regio_client_connections_total", { ...hub, transport: "websocket" })).toBeGreaterThanOrEqual(1);
    expect(e("regio_client_connections_total", { ...hub, transport: "polling" })).toBeGreaterThanOrEqual(1);
    // Two clients of this node got every broadcast (and their CONNECT replies, the ack).
    const out = (m: string) =>
      e(m, { ...hub, direction: "out" })! - (before.east(m, { ...hub, direction: "out" }) ?? 0);
    expect(out("regio_client_packets_total")).toBeGreaterThanOrEqual(2 * broadcasts);
    expect(out("regio_client_bytes_total")).toBeGreaterThanOrEqual(2 * broadcasts * 100);
    expect(e("regio_client_packets_total", { ...hub, direction: "in" })).toBeGreaterThanOrEqual(3);
    expect(e("regio_client_bytes_total", { ...hub, direction: "in" })).toBeGreaterThan(0);
    expect(e("regio_app_link_frames_total", { ...hub, direction: "in" })).toBeGreaterThan(broadcasts);
    expect(e("regio_app_link_bytes_total", { ...hub, direction: "out" })).toBeGreaterThan(0);
    expect(
      e("regio_operations_total", { ...hub, type: "broadcast", source: "app_link" })! - operationsBefore,
    ).toBe(broadcasts);

    const w = after.west;
    expect(w("regio_operations_total", { ...hub, type: "broadcast", source: "replication" })).toBe(
      broadcasts,
    );
    expect(w("regio_client_sessions", { ...hub, transport: "websocket" })).toBe(1);
    expect(w("regio_client_packets_total", { ...hub, direction: "out" })).toBeGreaterThanOrEqual(broadcasts);
    // The other region, as this node reads it: reachable, its lag, its Kafka's errors and reconnects.
    expect(w("regio_replication_reachable", { region: "eastus" })).toBe(1);
    expect(w("regio_replication_lag_seconds", { region: "eastus" })).toBeGreaterThanOrEqual(0);
    expect(w("regio_kafka_reconnects_total", { region: "eastus" })).toBe(0);
    expect(w("regio_replication_errors_total", { region: "eastus" })).toBe(0);
    expect(w("regio_replication_errors_total", { region: "westeurope" })).toBe(0);

    // Sessions leave the figures when their clients go.
    polling.disconnect();
    await until(
      async () => (await scrape(east.url))("regio_client_sessions", { ...hub, transport: "polling" }) === 0,
      "the polling session is gone from the figures",
    );
  });

  it("lets tools built on engine.io's events (socket.io's admin UI) count an app server's packets and bytes", async () => {
    const counted = { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, seen: [] as string[] };
    // What @socket.io/admin-ui does with io.engine: per connection, "packet" in and "packetCreate" out.
    app.io.engine.on("connection", (conn: NodeJS.EventEmitter) => {
      conn.on("packet", ({ data }: { data?: string | Buffer }) => {
        if (!data) return;
        counted.packetsIn++;
        counted.bytesIn += Buffer.byteLength(data);
        counted.seen.push(String(data));
      });
      conn.on("packetCreate", ({ data }: { data?: string | Buffer }) => {
        if (!data) return;
        counted.packetsOut++;
        counted.bytesOut += Buffer.byteLength(data);
      });
    });
    const client = await connected(connect(east, "/", { transports: ["websocket"] }));
    clients.push(client);
    expect(await client.emitWithAck("ping")).toBe("pong");
    // CONNECT and the event came in; the CONNECT reply and the ack went out.
    expect(counted.packetsIn).toBe(2);
    expect(counted.seen[1]).toMatch(/^2\d*\["ping"\]$/);
    expect(counted.packetsOut).toBe(2);
    expect(counted.bytesIn).toBe(counted.seen.reduce((n, d) => n + Buffer.byteLength(d), 0));
    expect(counted.bytesOut).toBeGreaterThan(0);
  });
});
