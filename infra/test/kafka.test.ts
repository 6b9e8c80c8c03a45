import { topicNames, topicSpecs } from "@regio/broker";
import { describe, expect, it } from "vitest";
import { ROLE } from "../components/roles.ts";
import { regionOf, resolvedEnv, reveal, runProgram, T, type Run } from "./harness.ts";

const REGIONS = ["westeurope", "eastus", "southeastasia"];

const namespaceOf = (run: Run, region: string) =>
  run.one(T.namespace, `${region}-kafka`).inputs.namespaceName as string;
const bootstrapOf = (run: Run, region: string) => `${namespaceOf(run, region)}.servicebus.windows.net:9093`;
const roleOf = (run: Run, name: string) => run.one(T.role, name).inputs;

describe("Kafka wiring", () => {
  it("gives each node its own region's Kafka to write and every other region's to read, listen-only", async () => {
    const run = await runProgram({ config: { regions: REGIONS, nodesPerRegion: 2 } });
    expect(run.of(T.app)).toHaveLength(6);
    for (const app of run.of(T.app)) {
      const region = regionOf(app);
      const env = resolvedEnv(run, app);
      expect(env.REGIO_REGION).toBe(region);
      expect(env.REGIO_KAFKA).toBe(bootstrapOf(run, region));
      expect(env.REGIO_KAFKA_SSL).toBe("true");
      expect(env.REGIO_KAFKA_SASL_MECHANISM).toBe("plain");
      expect(env.REGIO_KAFKA_SASL_USERNAME).toBe("$ConnectionString");
      expect(env.REGIO_KAFKA_SASL_PASSWORD).toMatch(
        new RegExp(`^Endpoint=sb://${namespaceOf(run, region)}\\.[^;]+/;SharedAccessKeyName=regio-broker;`),
      );

      const peers = REGIONS.filter((r) => r !== region);
      expect(env.REGIO_PEERS).toBe(peers.map((p) => `${p}=${bootstrapOf(run, p)}`).join(";"));
      for (const peer of peers) {
        const prefix = `REGIO_PEER_${peer.toUpperCase()}`;
        expect(env[`${prefix}_SSL`]).toBe("true");
        expect(env[`${prefix}_SASL_MECHANISM`]).toBe("plain");
        expect(env[`${prefix}_SASL_USERNAME`]).toBe("$ConnectionString");
        // Remote regions read with a listen-only key of the peer's own namespace.
        expect(env[`${prefix}_SASL_PASSWORD`]).toMatch(
          new RegExp(`^Endpoint=sb://${namespaceOf(run, peer)}\\.[^;]+/;SharedAccessKeyName=regio-peer;`),
        );
      }
      expect(Object.keys(env).filter((k) => k.startsWith(`REGIO_PEER_${region.toUpperCase()}_`))).toEqual([]);
    }
    for (const region of REGIONS) {
      expect(run.one(T.rule, `${region}-kafka-peer`).inputs.rights).toEqual(["Listen"]);
      // Every topic exists before a node starts, so no node needs Manage (the right to create topics).
      expect(run.one(T.rule, `${region}-kafka-broker`).inputs.rights).toEqual(["Listen", "Send"]);
      expect(run.one(T.namespace, `${region}-kafka`).inputs.disableLocalAuth).toBe(false);
    }
  });

  it("creates in every namespace exactly the topics the broker uses, compacted where the broker needs it", async () => {
    const run = await runProgram({ config: { regions: REGIONS, kafka: { eventHubs: { partitions: 6 } } } });
    // The broker's own definition, as the nodes run it (no REGIO_TOPIC_* is set).
    const wanted = topicSpecs(topicNames());
    expect(wanted.map((t) => t.name)).toEqual(["regio.events", "regio.membership", "regio.nodes"]);
    expect(run.of(T.namespace)).toHaveLength(3);
    for (const region of REGIONS) {
      const ns = run.one(T.namespace, `${region}-kafka`).inputs;
      expect(ns).toMatchObject({ location: region, kafkaEnabled: true, sku: { name: "Standard" } });
      const hubs = run.of(T.eventHub).filter((h) => h.inputs.namespaceName === ns.namespaceName);
      const provisioned = hubs.map((h) => {
        const retention = h.inputs.retentionDescription as { cleanupPolicy: string };
        return {
          name: h.inputs.eventHubName,
          compacted: retention.cleanupPolicy === "Compact",
          partitions: h.inputs.partitionCount,
        };
      });
      expect(provisioned).toEqual(
        wanted.map((t) => ({ name: t.name, compacted: t.compacted, partitions: t.partitions ?? 6 })),
      );
    }
    for (const app of run.of(T.app)) {
      expect(Object.keys(resolvedEnv(run, app)).filter((k) => k.startsWith("REGIO_TOPIC_"))).toEqual([]);
    }
  });

  it("with Entra ID: no keys at all; own identity writes and reads, other regions' identities only read", async () => {
    const regions = ["westeurope", "eastus"];
    const run = await runProgram({ config: { regions, kafka: { eventHubs: { auth: "entra" } } } });
    expect(run.of(T.rule)).toEqual([]);
    for (const region of regions) {
      expect(run.one(T.namespace, `${region}-kafka`).inputs.disableLocalAuth).toBe(true);
      const ns = `/${namespaceOf(run, region)}$`;
      const own = `principal-of-${String(run.one(T.identity, `${region}-identity`).inputs.resourceName)}`;
      expect(roleOf(run, `${region}-kafka-send`)).toMatchObject({ principalId: own });
      expect(String(roleOf(run, `${region}-kafka-send`).roleDefinitionId)).toMatch(ROLE.eventHubsDataSender);
      expect(String(roleOf(run, `${region}-kafka-receive`).roleDefinitionId)).toMatch(
        ROLE.eventHubsDataReceiver,
      );
      for (const name of [`${region}-kafka-send`, `${region}-kafka-receive`]) {
        expect(String(roleOf(run, name).scope)).toMatch(new RegExp(ns));
      }
      for (const peer of regions.filter((r) => r !== region)) {
        const read = roleOf(run, `${region}-kafka-read-by-${peer}`);
        const peerIdentity = String(run.one(T.identity, `${peer}-identity`).inputs.resourceName);
        expect(read.principalId).toBe(`principal-of-${peerIdentity}`);
        expect(String(read.roleDefinitionId)).toMatch(ROLE.eventHubsDataReceiver);
        expect(String(read.scope)).toMatch(new RegExp(ns));
        // A peer's identity gets nothing else on this namespace: it only ever reads.
        const onNamespace = run
          .of(T.role)
          .filter(
            (r) => r.inputs.principalId === read.principalId && new RegExp(ns).test(String(r.inputs.scope)),
          );
        expect(onNamespace).toHaveLength(1);
      }
    }
    for (const app of run.of(T.app)) {
      const env = resolvedEnv(run, app);
      const identity = String(run.one(T.identity, `${regionOf(app)}-identity`).inputs.resourceName);
      expect(env.REGIO_KAFKA_SASL_MECHANISM).toBe("oauthbearer");
      expect(env.AZURE_CLIENT_ID).toBe(`client-of-${identity}`);
      expect(Object.keys(env).filter((k) => /_SASL_(USERNAME|PASSWORD)$/.test(k))).toEqual([]);
      const peer = regions.find((r) => r !== regionOf(app)) ?? "";
      expect(env[`REGIO_PEER_${peer.toUpperCase()}_SASL_MECHANISM`]).toBe("oauthbearer");
    }
    // Nothing Kafka-related is kept in Key Vault any more: only the hub access key.
    expect(new Set(run.of(T.secret).map((s) => s.inputs.secretName))).toEqual(new Set(["access-key"]));
  });

  it("uses an external Kafka where configured, and hands it to the other regions", async () => {
    const run = await runProgram({
      config: {
        regions: ["westeurope", "eastus"],
        kafka: {
          external: {
            eastus: {
              brokers: ["k1.example.com:9093", "k2.example.com:9093"],
              saslMechanism: "plain",
              username: "regio",
            },
          },
        },
      },
      secrets: { kafkaPasswords: { eastus: "external-password" } },
    });
    expect(run.of(T.namespace).map((n) => n.inputs.location)).toEqual(["westeurope"]);
    const external = "k1.example.com:9093,k2.example.com:9093";
    for (const app of run.of(T.app)) {
      const env = resolvedEnv(run, app);
      if (regionOf(app) === "eastus") {
        expect(env.REGIO_KAFKA).toBe(external);
        expect(env.REGIO_KAFKA_SASL_USERNAME).toBe("regio");
        expect(env.REGIO_KAFKA_SASL_PASSWORD).toBe("external-password");
        expect(env.REGIO_PEERS).toBe(`westeurope=${bootstrapOf(run, "westeurope")}`);
      } else {
        expect(env.REGIO_PEERS).toBe(`eastus=${external}`);
        expect(env.REGIO_PEER_EASTUS_SSL).toBe("true");
        expect(env.REGIO_PEER_EASTUS_SASL_USERNAME).toBe("regio");
        expect(env.REGIO_PEER_EASTUS_SASL_PASSWORD).toBe("external-password");
      }
    }
    // The external password is in the vault of both regions, as a secret, and nowhere in plain text.
    const stored = run.of(T.secret).filter((s) => /kafka-password$/.test(String(s.inputs.secretName)));
    const values = stored.map((s) => (reveal(s.inputs.properties) as { value: string }).value);
    expect(values.filter((v) => v === "external-password")).toHaveLength(2);
  });
});
