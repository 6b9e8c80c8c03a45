import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { brokerEnv, peerEnvName } from "../broker-env.ts";
import { parseSettings } from "../config.ts";
import { Naming } from "../naming.ts";

const settings = (raw: Record<string, unknown>) => parseSettings((key) => raw[key]);

describe("config", () => {
  it("applies defaults around the region list", () => {
    const s = settings({ regions: ["westeurope", "eastus"] });
    expect(s).toMatchObject({
      location: "westeurope",
      nodesPerRegion: 2,
      port: 7400,
      eventHubs: { sku: "Standard", partitions: 4 },
      externalKafka: {},
    });
  });

  it.each([
    [{ regions: [] }, /regions/],
    [{ regions: ["West Europe"] }, /not an Azure location/],
    [{ regions: ["eastus", "eastus"] }, /listed twice/],
    [{ regions: ["eastus"], nodesPerRegion: 0 }, /nodesPerRegion/],
    [{ regions: ["eastus"], kafka: { topics: [{ name: "regio.events" }] } }, /topics are the broker's own/],
    [{ regions: ["eastus"], kafka: { eventHubs: { sku: "Basic" } } }, /Standard or Premium/],
    [{ regions: ["eastus"], kafka: { external: { westus: { brokers: "k:9092" } } } }, /not in regions/],
    [{ regions: ["eastus"], kafka: { external: { eastus: { brokers: "k" } } } }, /host:port/],
    [
      { regions: ["eastus"], kafka: { external: { eastus: { brokers: "k:1", saslMechanism: "plain" } } } },
      /username/,
    ],
    [
      { regions: ["eastus"], kafka: { external: { eastus: { brokers: "k:1", saslMechanism: "scram" } } } },
      /plain/,
    ],
  ])("rejects %j", (raw, message) => {
    expect(() => settings(raw)).toThrow(message);
  });
});

describe("broker environment", () => {
  it("names peer variables after the region, upper-cased, other characters as _", () => {
    expect(peerEnvName("westeurope")).toBe("WESTEUROPE");
    expect(peerEnvName("on-prem.eu 1")).toBe("ON_PREM_EU_1");
  });

  it("makes the access key and SASL passwords secret even when handed over in plain text", async () => {
    const env = brokerEnv({
      port: 7400,
      region: "a",
      nodeId: "a-0",
      advertisedUrl: "http://a0.example:7400",
      accessKey: "plain-key",
      kafka: { brokers: "k:9093", ssl: true, saslMechanism: "plain", username: "u", password: "pw" },
      peers: [
        { region: "b-2", kafka: { brokers: "p:9092", ssl: false } },
        {
          region: "c",
          kafka: {
            brokers: "c1:9093,c2:9093",
            ssl: true,
            saslMechanism: "plain",
            username: "cu",
            password: "cpw",
          },
        },
      ],
    });
    const resolved = await Promise.all(
      env.map(async (e) => {
        const output = pulumi.output(e.secureValue ?? e.value ?? "");
        const value = await new Promise<string>((resolve) => output.apply(resolve));
        return {
          name: e.name,
          value,
          secret: await pulumi.isSecret(output),
          secure: e.secureValue !== undefined,
        };
      }),
    );
    const secret = resolved.filter((e) => e.secret).map((e) => e.name);
    expect(secret).toEqual(["REGIO_ACCESS_KEY", "REGIO_KAFKA_SASL_PASSWORD", "REGIO_PEER_C_SASL_PASSWORD"]);
    expect(resolved.filter((e) => e.secure).map((e) => e.name)).toEqual(secret);
    const values = Object.fromEntries(resolved.map((e) => [e.name, e.value]));
    expect(values).toMatchObject({
      REGIO_PEERS: "b-2=p:9092;c=c1:9093,c2:9093",
      REGIO_PEER_B_2_SSL: "false",
      REGIO_PEER_C_SASL_USERNAME: "cu",
      REGIO_PEER_C_SASL_PASSWORD: "cpw",
    });
    // No SASL configured for b-2: no SASL variables for it.
    expect(Object.keys(values).filter((k) => k.startsWith("REGIO_PEER_B_2_"))).toEqual([
      "REGIO_PEER_B_2_SSL",
    ]);
  });
});

describe("naming", () => {
  const ctx = { project: "regio", stack: "dev", salt: "" };

  it("changes globally unique names only through the salt", () => {
    const a = new Naming(ctx);
    const b = new Naming({ ...ctx, salt: "team-b" });
    expect(new Naming(ctx).registry()).toBe(a.registry());
    expect(b.registry()).not.toBe(a.registry());
    expect(b.eventHubsNamespace("eastus")).not.toBe(a.eventHubsNamespace("eastus"));
    expect(b.globalProfile()).not.toBe(a.globalProfile());
  });

  it("keeps names valid for a project that starts with a digit or has odd characters", () => {
    const n = new Naming({ project: "1st_Regio!", stack: "Prod.EU", salt: "" });
    expect(n.eventHubsNamespace("eastus")).toMatch(/^[a-z][a-z0-9-]{4,48}[a-z0-9]$/);
    expect(n.node("eastus", 0)).toMatch(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/);
    expect(n.registry()).toMatch(/^[a-z0-9]{5,50}$/);
  });
});
