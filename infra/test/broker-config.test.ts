import { parseBrokerConfig } from "@regio/broker";
import { describe, expect, it } from "vitest";
import { regionOf, resolvedEnv, runProgram, T, type Run } from "./harness.ts";

/**
 * The generated environment of every node, secrets resolved as Azure resolves them at start,
 * through the broker's own configuration parser: what a node will actually run with.
 */
const REGIONS = ["westeurope", "eastus", "southeastasia"];

const bootstrapOf = (run: Run, region: string) =>
  `${String(run.one(T.namespace, `${region}-kafka`).inputs.namespaceName)}.servicebus.windows.net:9093`;

describe("every node's environment, read by the broker's own parser", () => {
  it("parses, and names the node's region, its own Kafka and every peer (shared access keys)", async () => {
    const run = await runProgram({
      config: { regions: REGIONS, nodesPerRegion: 2 },
      secrets: {
        accessKey: "new-key-0123456789abcdef0123456789abcdef,old-key-0123456789abcdef0123456789abcdef",
      },
    });
    expect(run.of(T.app)).toHaveLength(6);
    for (const app of run.of(T.app)) {
      const region = regionOf(app);
      const config = parseBrokerConfig([], resolvedEnv(run, app));
      expect(config.region).toBe(region);
      expect(config.host).toBe("0.0.0.0");
      expect(config.port).toBe(7400);
      expect(config.accessKeys).toEqual([
        "new-key-0123456789abcdef0123456789abcdef",
        "old-key-0123456789abcdef0123456789abcdef",
      ]);
      expect(config.advertisedUrl).toMatch(
        /^https:\/\/[a-z0-9-]+\.[a-z0-9]+\.[a-z]+\.azurecontainerapps\.io$/,
      );
      expect(config.kafka).toMatchObject({
        brokers: [bootstrapOf(run, region)],
        ssl: true,
        sasl: { mechanism: "plain", username: "$ConnectionString" },
      });
      expect(config.kafka?.sasl?.password).toContain("SharedAccessKeyName=regio-broker;");
      const peers = REGIONS.filter((r) => r !== region);
      expect([...config.peers.keys()]).toEqual(peers);
      for (const peer of peers) {
        const connection = config.peers.get(peer);
        expect(connection?.brokers).toEqual([bootstrapOf(run, peer)]);
        expect(connection?.ssl).toBe(true);
        expect(connection?.sasl?.password).toContain("SharedAccessKeyName=regio-peer;");
      }
      // The broker's default topic names: the ones infra/ provisions.
      expect(config.topics).toEqual({ events: undefined, membership: undefined, nodes: undefined });
      expect(config.mirrored).toBe(false);
      // The default 60 s grace period: the broker ends its drain 5 s before SIGKILL would.
      expect(config.drainTimeoutMs).toBe(55_000);
      const template = app.inputs.template as { terminationGracePeriodSeconds?: number };
      expect(template.terminationGracePeriodSeconds).toBe(60);
    }
  });

  it("parses with Entra ID: OAUTHBEARER everywhere, with the region's identity", async () => {
    const run = await runProgram({ config: { regions: REGIONS, kafka: { eventHubs: { auth: "entra" } } } });
    for (const app of run.of(T.app)) {
      const region = regionOf(app);
      const identity = String(run.one(T.identity, `${region}-identity`).inputs.resourceName);
      const config = parseBrokerConfig([], resolvedEnv(run, app));
      const bearer = { tokenSource: "azure-managed-identity", clientId: `client-of-${identity}` };
      expect(config.kafka).toEqual({ brokers: [bootstrapOf(run, region)], ssl: true, oauthBearer: bearer });
      for (const peer of REGIONS.filter((r) => r !== region)) {
        expect(config.peers.get(peer)).toEqual({
          brokers: [bootstrapOf(run, peer)],
          ssl: true,
          oauthBearer: bearer,
        });
      }
    }
  });

  it("parses with an external Kafka in one region and no SASL", async () => {
    const run = await runProgram({
      config: {
        regions: ["westeurope", "eastus"],
        corsOrigins: ["https://chat.example.com"],
        kafka: { external: { eastus: { brokers: ["k1.example.com:9092"], ssl: false } } },
      },
    });
    for (const app of run.of(T.app)) {
      const config = parseBrokerConfig([], resolvedEnv(run, app));
      expect(config.corsOrigin).toEqual(["https://chat.example.com"]);
      const external = regionOf(app) === "eastus" ? config.kafka : config.peers.get("eastus");
      expect(external).toEqual({ brokers: ["k1.example.com:9092"], ssl: false, sasl: undefined });
    }
  });
});
