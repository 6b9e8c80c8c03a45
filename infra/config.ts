import * as pulumi from "@pulumi/pulumi";

/** Where a region's Kafka lives when it is not an Event Hubs namespace this program creates. */
export interface ExternalKafka {
  /** Bootstrap brokers, `host:port` joined by commas. */
  brokers: string;
  ssl: boolean;
  /** Absent: no SASL. The password comes from the secret `kafkaPasswords.<region>`. */
  saslMechanism?: string;
  username?: string;
}

export interface EventHubsSettings {
  sku: "Standard" | "Premium";
  /** Throughput units (Standard) or processing units (Premium). */
  capacity: number;
  partitions: number;
  retentionHours: number;
}

/** Everything the program reads from stack configuration, checked and with defaults applied. */
export interface Settings {
  regions: string[];
  /** Azure location of the global resources (resource group, registry). */
  location: string;
  nodesPerRegion: number;
  nodeSize: { cpu: number; memoryGb: number };
  port: number;
  /** A pre-built broker image; when absent the program builds broker/Dockerfile and pushes it. */
  image?: string;
  nameSalt: string;
  eventHubs: EventHubsSettings;
  externalKafka: Record<string, ExternalKafka>;
}

export interface RegioConfig extends Settings {
  accessKey: pulumi.Output<string>;
  /** Per region with external SASL Kafka; a secret as a whole. */
  kafkaPasswords: pulumi.Output<Record<string, string>>;
}

export const CONFIG_NAMESPACE = "regio";

const TEXT_KEYS = new Set(["location", "image", "nameSalt"]);

type Raw = Record<string, unknown>;

function fail(key: string, why: string): never {
  throw new Error(`config ${CONFIG_NAMESPACE}:${key}: ${why}`);
}

function isObject(value: unknown): value is Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optObject(value: unknown, key: string): Raw {
  if (value === undefined) return {};
  if (!isObject(value)) fail(key, "must be an object");
  return value;
}

function optNumber(value: unknown, key: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n < min || n > max) {
    fail(key, `must be a number from ${min} to ${max}`);
  }
  return n;
}

function optString(value: unknown, key: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") fail(key, "must be a non-empty string");
  return value;
}

function optBoolean(value: unknown, key: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  return fail(key, "must be true or false");
}

function parseRegions(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) fail("regions", "must be a non-empty array");
  const regions = value.map((r: unknown) => {
    // Region names are Azure location names (`az account list-locations -o table`, column Name).
    if (typeof r !== "string" || !/^[a-z][a-z0-9]*$/.test(r)) {
      fail("regions", `"${String(r)}" is not an Azure location name such as westeurope`);
    }
    return r;
  });
  const dup = regions.find((r, i) => regions.indexOf(r) !== i);
  if (dup) fail("regions", `"${dup}" is listed twice`);
  return regions;
}

function parseExternal(value: unknown, regions: string[]): Record<string, ExternalKafka> {
  const result: Record<string, ExternalKafka> = {};
  for (const [region, raw] of Object.entries(optObject(value, "kafka.external"))) {
    const key = `kafka.external.${region}`;
    if (!regions.includes(region)) fail(key, "names a region that is not in regions");
    const spec = optObject(raw, key);
    const brokers = Array.isArray(spec.brokers) ? spec.brokers.join(",") : spec.brokers;
    if (typeof brokers !== "string" || !/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/.test(brokers)) {
      fail(`${key}.brokers`, "must list host:port bootstrap brokers");
    }
    const saslMechanism = optString(spec.saslMechanism, `${key}.saslMechanism`);
    // The broker speaks SASL PLAIN only (what Event Hubs uses too); refuse others before deploying.
    if (saslMechanism !== undefined && saslMechanism !== "plain")
      fail(`${key}.saslMechanism`, "must be plain");
    const username = optString(spec.username, `${key}.username`);
    result[region] = {
      brokers,
      ssl: optBoolean(spec.ssl, `${key}.ssl`, true),
      ...(saslMechanism
        ? { saslMechanism, username: username ?? fail(`${key}.username`, "needed with SASL") }
        : {}),
    };
  }
  return result;
}

/** Checks raw configuration values (as `pulumi.Config` returns them) and applies the defaults. */
export function parseSettings(get: (key: string) => unknown): Settings {
  const regions = parseRegions(get("regions"));
  const kafka = optObject(get("kafka"), "kafka");
  // The topics come from the broker's own definitions (infra/topics.ts); a list here could only drift.
  if (kafka.topics !== undefined) fail("kafka.topics", "is no longer read: the topics are the broker's own");
  const eh = optObject(kafka.eventHubs, "kafka.eventHubs");
  const sku = eh.sku ?? "Standard";
  // Basic has no Kafka endpoint and no log compaction; Standard is the smallest tier that has both.
  if (sku !== "Standard" && sku !== "Premium") fail("kafka.eventHubs.sku", "must be Standard or Premium");
  const size = optObject(get("nodeSize"), "nodeSize");
  const location = optString(get("location"), "location") ?? regions[0] ?? fail("location", "missing");
  const image = optString(get("image"), "image");
  return {
    regions,
    location,
    nodesPerRegion: optNumber(get("nodesPerRegion"), "nodesPerRegion", 2, 1, 20),
    nodeSize: {
      cpu: optNumber(size.cpu, "nodeSize.cpu", 1, 0.25, 4),
      memoryGb: optNumber(size.memoryGb, "nodeSize.memoryGb", 1.5, 0.5, 16),
    },
    port: optNumber(get("port"), "port", 7400, 1, 65535),
    ...(image ? { image } : {}),
    nameSalt: optString(get("nameSalt"), "nameSalt") ?? "",
    eventHubs: {
      sku,
      capacity: optNumber(eh.capacity, "kafka.eventHubs.capacity", 1, 1, 40),
      partitions: optNumber(eh.partitions, "kafka.eventHubs.partitions", 4, 1, sku === "Standard" ? 32 : 100),
      // Standard keeps events at most 7 days; recovery only needs the last minutes to hours.
      retentionHours: optNumber(eh.retentionHours, "kafka.eventHubs.retentionHours", 24, 1, 168),
    },
    externalKafka: parseExternal(kafka.external, regions),
  };
}

/** Reads the `regio:*` stack configuration. */
export function loadConfig(): RegioConfig {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  // Strings are read as text (a salt such as 1234 must stay a string); the rest is YAML/JSON.
  const settings = parseSettings((key) =>
    TEXT_KEYS.has(key) ? config.get(key) : config.getObject<unknown>(key),
  );
  const missingPassword = Object.entries(settings.externalKafka).filter(([, k]) => k.saslMechanism);
  const kafkaPasswords =
    config.getSecretObject<Record<string, string>>("kafkaPasswords") ??
    pulumi.secret<Record<string, string>>({});
  return {
    ...settings,
    accessKey: config.requireSecret("accessKey"),
    kafkaPasswords: kafkaPasswords.apply((passwords) => {
      for (const [region] of missingPassword) {
        if (typeof passwords[region] !== "string") fail(`kafkaPasswords.${region}`, "missing (SASL is set)");
      }
      return passwords;
    }),
  };
}
