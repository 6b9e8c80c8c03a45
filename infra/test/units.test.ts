import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { brokerEnv, brokerSecrets, drainTimeoutMs, peerEnvName, type EnvVar } from "../broker-env.ts";
import { readinessThreshold } from "../components/monitoring.ts";
import { checkAccessKeys, parseSettings, signingKey } from "../config.ts";
import { Naming } from "../naming.ts";

const settings = (raw: Record<string, unknown>) => parseSettings((key) => raw[key]);

describe("config", () => {
  it("applies defaults around the region list", () => {
    const s = settings({ regions: ["westeurope", "eastus"] });
    expect(s).toMatchObject({
      location: "westeurope",
      nodesPerRegion: 2,
      nodeSize: { cpu: 1, memoryGb: 2 },
      port: 7400,
      eventHubs: { sku: "Standard", partitions: 4, auth: "sas" },
      externalKafka: {},
      frontDoor: { sku: "Standard" },
      corsOrigins: [],
      alertEmails: [],
      drainSeconds: 60,
    });
    expect(s.frontDoor.customDomain).toBeUndefined();
  });

  it("takes lists as arrays or comma-separated text, and the memory that goes with a CPU count", () => {
    const s = settings({
      regions: ["eastus"],
      corsOrigins: "https://chat.example.com, http://127.0.0.1:3000",
      alertEmails: ["ops@example.com"],
      nodeSize: { cpu: 1.5 },
      frontDoor: { customDomain: "chat.example.com" },
      kafka: { eventHubs: { auth: "entra" } },
    });
    expect(s.corsOrigins).toEqual(["https://chat.example.com", "http://127.0.0.1:3000"]);
    expect(s.alertEmails).toEqual(["ops@example.com"]);
    expect(s.nodeSize).toEqual({ cpu: 1.5, memoryGb: 3 });
    expect(s.frontDoor.customDomain).toBe("chat.example.com");
    expect(s.eventHubs.auth).toBe("entra");
  });

  it.each([
    [{ regions: [] }, /regions/],
    [{ regions: ["West Europe"] }, /not an Azure location/],
    [{ regions: ["eastus", "eastus"] }, /listed twice/],
    [{ regions: ["eastus"], nodesPerRegion: 0 }, /nodesPerRegion/],
    [{ regions: ["eastus"], kafka: { topics: [{ name: "regio.events" }] } }, /topics are the broker's own/],
    [{ regions: ["eastus"], kafka: { eventHubs: { sku: "Basic" } } }, /Standard, Premium/],
    [{ regions: ["eastus"], kafka: { eventHubs: { auth: "keys" } } }, /sas, entra/],
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
    // Container Apps takes only these CPU/memory pairs; refused here rather than by Azure mid-deploy.
    [{ regions: ["eastus"], nodeSize: { cpu: 1, memoryGb: 1.5 } }, /nodeSize.memoryGb: must be 2/],
    [{ regions: ["eastus"], nodeSize: { cpu: 0.6 } }, /multiple of 0.25/],
    [{ regions: ["eastus"], nodeSize: { cpu: 0.25 } }, /nodeSize.cpu/],
    [{ regions: ["eastus"], frontDoor: { customDomain: "https://chat.example.com" } }, /host name/],
    [{ regions: ["eastus"], corsOrigins: ["chat.example.com"] }, /web origin/],
    [{ regions: ["eastus"], alertEmails: "ops" }, /email/],
    // Front Door's limits: 10 endpoints on Standard (one global, one per region), 50 origins a group.
    [{ regions: ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"] }, /10 endpoints/],
    [{ regions: ["a", "b", "c"], nodesPerRegion: 17 }, /at most 50 nodes/],
  ])("rejects %j", (raw, message) => {
    expect(() => settings(raw)).toThrow(message);
  });

  it("takes nine regions on Front Door Standard and more on Premium", () => {
    const nine = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    expect(settings({ regions: nine }).regions).toHaveLength(9);
    expect(settings({ regions: [...nine, "j"], frontDoor: { sku: "Premium" } }).regions).toHaveLength(10);
  });

  it("takes several access keys, the first signing", () => {
    expect(
      checkAccessKeys("new-key-0123456789abcdef0123456789abcdef,old-key-0123456789abcdef0123456789abcdef"),
    ).toBe("new-key-0123456789abcdef0123456789abcdef,old-key-0123456789abcdef0123456789abcdef");
    expect(
      signingKey("new-key-0123456789abcdef0123456789abcdef,old-key-0123456789abcdef0123456789abcdef"),
    ).toBe("new-key-0123456789abcdef0123456789abcdef");
    expect(() => checkAccessKeys("short")).toThrow(/key 1/);
    // The broker's own minimum: 32 bytes.
    expect(() => checkAccessKeys("k".repeat(31))).toThrow(/key 1 must be 32 bytes or more/);
    expect(checkAccessKeys("k".repeat(32))).toBe("k".repeat(32));
    expect(() =>
      checkAccessKeys("good-key-0123456789abcdef0123456789abcdef,bad;key-0123456789abcdef0123456789abcdef"),
    ).toThrow(/key 2/);
  });
});

async function resolve(env: EnvVar[]): Promise<Record<string, string>> {
  const entries = await Promise.all(
    env.map(async (e) => {
      if ("secretRef" in e) return [e.name, `secret:${e.secretRef}`];
      const output = pulumi.output(e.value);
      return [e.name, await new Promise<string>((r) => output.apply(r))];
    }),
  );
  return Object.fromEntries(entries);
}

describe("broker environment", () => {
  const kafka = {
    brokers: "k:9093",
    ssl: true,
    auth: { kind: "sasl-plain", username: "u", password: "pw" },
  } as const;
  const peers = [
    { region: "b-2", kafka: { brokers: "p:9092", ssl: false, auth: { kind: "none" } } } as const,
    { region: "c", kafka: { brokers: "c1:9093,c2:9093", ssl: true, auth: { kind: "entra" } } } as const,
    {
      region: "d",
      kafka: { brokers: "d:9093", ssl: true, auth: { kind: "sasl-plain", username: "du", password: "dpw" } },
    } as const,
  ];
  const args = {
    port: 7400,
    region: "a",
    advertisedUrl: "https://a0.example",
    nodeUrlPattern: "https://*.example",
    kafka,
    peers,
    corsOrigins: [],
    identityClientId: "client-a",
    drainSeconds: 60,
  };

  it("names peer variables after the region, upper-cased, other characters as _", () => {
    expect(peerEnvName("westeurope")).toBe("WESTEUROPE");
    expect(peerEnvName("on-prem.eu 1")).toBe("ON_PREM_EU_1");
  });

  it("passes every password and the access key by secret reference only, one secret each", async () => {
    const env = await resolve(brokerEnv(args));
    expect(env).toMatchObject({
      REGIO_ACCESS_KEY: "secret:access-key",
      REGIO_KAFKA_SASL_MECHANISM: "plain",
      REGIO_KAFKA_SASL_PASSWORD: "secret:kafka-password",
      REGIO_PEERS: "b-2=p:9092;c=c1:9093,c2:9093;d=d:9093",
      REGIO_PEER_B_2_SSL: "false",
      REGIO_PEER_C_SASL_MECHANISM: "oauthbearer",
      REGIO_PEER_D_SASL_USERNAME: "du",
      REGIO_PEER_D_SASL_PASSWORD: "secret:peer-d-kafka-password",
      AZURE_CLIENT_ID: "client-a",
    });
    // No SASL configured for b-2, none for c but the mechanism: no password variables for them.
    expect(Object.keys(env).filter((k) => /^REGIO_PEER_(B_2|C)_SASL_(USERNAME|PASSWORD)$/.test(k))).toEqual(
      [],
    );
    expect(env.REGIO_NODE_ID).toBeUndefined();
    const secrets = brokerSecrets("key", kafka, peers).map((s) => s.name);
    expect(secrets).toEqual(["access-key", "kafka-password", "peer-d-kafka-password"]);
    const referenced = Object.values(env)
      .filter((v) => v.startsWith("secret:"))
      .map((v) => v.slice(7));
    expect(referenced.sort()).toEqual([...secrets].sort());
  });

  it("ends the broker's drain inside the grace period, keeping time to close after it", () => {
    expect(drainTimeoutMs(60)).toBe(55_000);
    expect(drainTimeoutMs(4)).toBe(2_000);
    expect(drainTimeoutMs(0)).toBe(0);
  });

  it("sets AZURE_CLIENT_ID only where a cluster is reached with Entra ID", async () => {
    const env = await resolve(brokerEnv({ ...args, peers: [peers[0]] }));
    expect(env.AZURE_CLIENT_ID).toBeUndefined();
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
    expect(b.keyVault("eastus")).not.toBe(a.keyVault("eastus"));
  });

  it("keeps names valid for a project that starts with a digit or has odd characters", () => {
    const n = new Naming({ project: "1st_Regio!", stack: "Prod.EU", salt: "" });
    expect(n.eventHubsNamespace("eastus")).toMatch(/^[a-z][a-z0-9-]{4,48}[a-z0-9]$/);
    expect(n.nodeApp("eastus", 0)).toMatch(/^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$/);
    expect(n.keyVault("eastus")).toMatch(/^[a-z][a-z0-9-]{1,22}[a-z0-9]$/);
    expect(n.registry()).toMatch(/^[a-z0-9]{5,50}$/);
  });

  it("derives role assignment names from holder, role and scope", () => {
    const n = new Naming(ctx);
    expect(n.roleAssignment("eastus", "r")).toBe(n.roleAssignment("eastus", "r"));
    expect(n.roleAssignment("eastus", "r", "westeurope")).not.toBe(
      n.roleAssignment("eastus", "r", "northeurope"),
    );
  });
});

describe("alert threshold", () => {
  it("is below what one ready node of the region gives, and above nothing", () => {
    for (const nodes of [1, 2, 3, 20]) {
      expect(readinessThreshold(nodes)).toBeLessThan(100 / nodes);
      expect(readinessThreshold(nodes)).toBeGreaterThan(0);
    }
  });
});
