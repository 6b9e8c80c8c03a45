import { topicNames, topicSpecs } from "@regio/broker";
import { describe, expect, it } from "vitest";
import { envMap, envOf, isSecretValue, runProgram, settle, T, type Run } from "./harness.ts";

const REGIONS = ["westeurope", "eastus", "southeastasia"];

const namespaceOf = (run: Run, region: string) =>
  run.one(T.namespace, `${region}-kafka`).inputs.namespaceName as string;
const bootstrapOf = (run: Run, region: string) => `${namespaceOf(run, region)}.servicebus.windows.net:9093`;

describe("Kafka wiring", () => {
  it("gives each broker its own region, its own Kafka and every other region's Kafka", async () => {
    const run = await runProgram({ config: { regions: REGIONS, nodesPerRegion: 2 } });
    expect(run.of(T.node)).toHaveLength(6);
    for (const group of run.of(T.node)) {
      const region = String(group.inputs.location);
      const env = envMap(group);
      expect(env.get("REGIO_REGION")).toBe(region);
      expect(env.get("REGIO_KAFKA")).toBe(bootstrapOf(run, region));
      expect(env.get("REGIO_KAFKA_SSL")).toBe("true");
      expect(env.get("REGIO_KAFKA_SASL_MECHANISM")).toBe("plain");
      expect(env.get("REGIO_KAFKA_SASL_USERNAME")).toBe("$ConnectionString");
      expect(env.get("REGIO_KAFKA_SASL_PASSWORD")).toMatch(
        new RegExp(`^Endpoint=sb://${namespaceOf(run, region)}\\.[^;]+/;SharedAccessKeyName=regio-broker;`),
      );

      const peers = REGIONS.filter((r) => r !== region);
      expect(env.get("REGIO_PEERS")).toBe(peers.map((p) => `${p}=${bootstrapOf(run, p)}`).join(";"));
      for (const peer of peers) {
        const prefix = `REGIO_PEER_${peer.toUpperCase()}`;
        expect(env.get(`${prefix}_SSL`)).toBe("true");
        expect(env.get(`${prefix}_SASL_MECHANISM`)).toBe("plain");
        expect(env.get(`${prefix}_SASL_USERNAME`)).toBe("$ConnectionString");
        // Remote regions read with a listen-only key of the peer's own namespace.
        expect(env.get(`${prefix}_SASL_PASSWORD`)).toMatch(
          new RegExp(`^Endpoint=sb://${namespaceOf(run, peer)}\\.[^;]+/;SharedAccessKeyName=regio-peer;`),
        );
      }
      expect([...env.keys()].filter((k) => k.startsWith(`REGIO_PEER_${region.toUpperCase()}_`))).toEqual([]);
    }
    for (const region of REGIONS) {
      expect(run.one(T.rule, `${region}-kafka-peer`).inputs.rights).toEqual(["Listen"]);
      // Every topic exists before a node starts, so no node needs Manage (the right to create topics).
      expect(run.one(T.rule, `${region}-kafka-broker`).inputs.rights).toEqual(["Listen", "Send"]);
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
    for (const group of run.of(T.node)) {
      const env = envMap(group);
      if (group.inputs.location === "eastus") {
        expect(env.get("REGIO_KAFKA")).toBe(external);
        expect(env.get("REGIO_KAFKA_SASL_USERNAME")).toBe("regio");
        expect(env.get("REGIO_KAFKA_SASL_PASSWORD")).toBe("external-password");
        expect(env.get("REGIO_PEERS")).toBe(`westeurope=${bootstrapOf(run, "westeurope")}`);
      } else {
        expect(env.get("REGIO_PEERS")).toBe(`eastus=${external}`);
        expect(env.get("REGIO_PEER_EASTUS_SSL")).toBe("true");
        expect(env.get("REGIO_PEER_EASTUS_SASL_USERNAME")).toBe("regio");
        expect(env.get("REGIO_PEER_EASTUS_SASL_PASSWORD")).toBe("external-password");
      }
    }
  });
});

describe("secrets", () => {
  const SECRET_VARS = /^(REGIO_ACCESS_KEY|REGIO_KAFKA_SASL_PASSWORD|REGIO_PEER_[A-Z0-9_]+_SASL_PASSWORD)$/;

  it("hands the access key and Kafka passwords to Azure as secure, secret values only", async () => {
    const run = await runProgram({ config: { regions: REGIONS }, secrets: { accessKey: "k-0123456789" } });
    for (const group of run.of(T.node)) {
      // Pulumi state and the provider see the container spec as a secret...
      expect(isSecretValue(group.inputs.containers)).toBe(true);
      const env = envOf(group);
      expect(env.filter((e) => SECRET_VARS.test(e.name))).toHaveLength(2 + (REGIONS.length - 1));
      for (const e of env) {
        // ...and Azure gets secrets only as secureValue, which it never returns on reads.
        if (SECRET_VARS.test(e.name)) {
          expect(e.value, e.name).toBeUndefined();
          expect(e.secureValue, e.name).toEqual(expect.any(String));
        } else {
          expect(e.secureValue, e.name).toBeUndefined();
          expect(String(e.value)).not.toMatch(/k-0123456789|SharedAccessKey=/);
        }
      }
      expect(envMap(group).get("REGIO_ACCESS_KEY")).toBe("k-0123456789");
    }
    expect(isSecretValue(run.one(T.image, "broker-image").inputs.registry)).toBe(true);

    const endpoint = await settle(run.program.clientEndpoint);
    const connection = await settle(run.program.connectionString);
    expect(connection).toEqual({
      value: `Endpoint=${endpoint.value};AccessKey=k-0123456789;Version=1.0;`,
      secret: true,
    });
  });
});
