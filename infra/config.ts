import * as pulumi from "@pulumi/pulumi";
import {
  CONFIG_NAMESPACE,
  fail,
  oneOf,
  optBoolean,
  optList,
  optNumber,
  optObject,
  optString,
} from "./config-values.ts";

/** Where a region's Kafka lives when it is not an Event Hubs namespace this program creates. */
export interface ExternalKafka {
  /** Bootstrap brokers, `host:port` joined by commas. */
  brokers: string;
  ssl: boolean;
  /** Absent: no SASL. The password comes from the secret `kafkaPasswords.<region>`. */
  saslMechanism?: "plain";
  username?: string;
}

/**
 * How nodes authenticate to Event Hubs. `sas`: SASL PLAIN with a namespace connection string
 * (listen-only for other regions), kept in Key Vault. `entra`: SASL OAUTHBEARER with a Microsoft
 * Entra token of the region's managed identity, the namespace's keys disabled; this needs the
 * broker's token provider (README, "Event Hubs with Microsoft Entra ID").
 */
export type EventHubsAuth = "sas" | "entra";

export interface EventHubsSettings {
  sku: "Standard" | "Premium";
  /** Throughput units (Standard) or processing units (Premium). */
  capacity: number;
  /** Partitions of the topics whose count the broker leaves to the operator. */
  partitions: number;
  retentionHours: number;
  auth: EventHubsAuth;
}

/** A node's whole allocation (broker plus its telemetry sidecar), as Container Apps bills it. */
export interface NodeSize {
  cpu: number;
  memoryGb: number;
}

export interface FrontDoorSettings {
  sku: "Standard" | "Premium";
  /** A host name of yours for the global endpoint (Front Door manages its certificate). */
  customDomain?: string;
}

/** Everything the program reads from stack configuration, checked and with defaults applied. */
export interface Settings {
  regions: string[];
  /** Azure location of the global resources (resource group, registry, monitoring). */
  location: string;
  nodesPerRegion: number;
  nodeSize: NodeSize;
  /** The broker's port inside its container (ingress terminates TLS on 443 in front of it). */
  port: number;
  /** A pre-built broker image; when absent the program has the registry build broker/Dockerfile. */
  image?: string;
  nameSalt: string;
  eventHubs: EventHubsSettings;
  externalKafka: Record<string, ExternalKafka>;
  frontDoor: FrontDoorSettings;
  /** The only web origins whose pages may connect, polling and WebSocket (REGIO_CORS_ORIGIN); empty: any. */
  corsOrigins: string[];
  /** Who is mailed when a region is not ready (the alerts exist, and show in the portal, without). */
  alertEmails: string[];
  logRetentionDays: number;
  /** OpenTelemetry Collector (contrib: has the Azure Monitor exporter) run beside each broker. */
  collectorImage: string;
  /** How long a first deploy waits after granting roles before nodes use them. */
  rolePropagationSeconds: number;
  /** Time a stopping node gets between SIGTERM and SIGKILL (the broker drains in it). */
  drainSeconds: number;
}

export interface RegioConfig extends Settings {
  /** Hub access keys, comma-separated: the first signs, any verifies. Secret. */
  accessKey: pulumi.Output<string>;
  /** Per region with external SASL Kafka; a secret as a whole. */
  kafkaPasswords: pulumi.Output<Record<string, string>>;
}

export { CONFIG_NAMESPACE } from "./config-values.ts";

/** Front Door limits: endpoints per profile (the global one plus one per region), origins per group. */
const FRONT_DOOR_ENDPOINTS = { Standard: 10, Premium: 25 } as const;
const FRONT_DOOR_ORIGINS_PER_GROUP = 50;

/** Consumption workload profile: a node takes 0.5 to 4 vCPU in steps of 0.25, with 2 GiB per vCPU. */
const CPU_STEP = 0.25;
const GIB_PER_CPU = 2;

export const DEFAULT_COLLECTOR_IMAGE =
  "ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector-contrib:0.148.0";

const TEXT_KEYS = new Set(["location", "image", "nameSalt", "corsOrigins", "alertEmails", "collectorImage"]);

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const WEB_ORIGIN = /^https?:\/\/[^/\s,;]+$/;
const EMAIL = /^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$/;

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
    // The broker speaks SASL PLAIN to operator-run Kafkas; refuse others before deploying.
    const saslMechanism =
      spec.saslMechanism === undefined
        ? undefined
        : oneOf(spec.saslMechanism, `${key}.saslMechanism`, ["plain"], "plain");
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

function parseNodeSize(value: unknown): NodeSize {
  const size = optObject(value, "nodeSize");
  const cpu = optNumber(size.cpu, "nodeSize.cpu", 1, 0.5, 4);
  if (!Number.isInteger(cpu / CPU_STEP)) fail("nodeSize.cpu", `must be a multiple of ${CPU_STEP}`);
  // Container Apps accepts only these pairs on the Consumption profile (the sum over a replica's
  // containers); anything else is refused at deploy time, so refuse it here, by name.
  const memoryGb = optNumber(size.memoryGb, "nodeSize.memoryGb", cpu * GIB_PER_CPU, 1, 8);
  if (memoryGb !== cpu * GIB_PER_CPU)
    fail("nodeSize.memoryGb", `must be ${cpu * GIB_PER_CPU} (2 GiB per vCPU)`);
  return { cpu, memoryGb };
}

/** Checks raw configuration values (as `pulumi.Config` returns them) and applies the defaults. */
export function parseSettings(get: (key: string) => unknown): Settings {
  const regions = parseRegions(get("regions"));
  const kafka = optObject(get("kafka"), "kafka");
  // The topics come from the broker's own definitions (infra/topics.ts); a list here could only drift.
  if (kafka.topics !== undefined) fail("kafka.topics", "is no longer read: the topics are the broker's own");
  const eh = optObject(kafka.eventHubs, "kafka.eventHubs");
  // Basic has no Kafka endpoint and no log compaction; Standard is the smallest tier that has both.
  const sku = oneOf(eh.sku, "kafka.eventHubs.sku", ["Standard", "Premium"], "Standard");
  const frontDoor = optObject(get("frontDoor"), "frontDoor");
  const customDomain = optString(frontDoor.customDomain, "frontDoor.customDomain");
  if (customDomain !== undefined && !HOST_NAME.test(customDomain)) {
    fail("frontDoor.customDomain", "must be a lowercase host name such as chat.example.com");
  }
  const location = optString(get("location"), "location") ?? regions[0] ?? fail("location", "missing");
  const image = optString(get("image"), "image");
  const frontDoorSku = oneOf(frontDoor.sku, "frontDoor.sku", ["Standard", "Premium"], "Standard");
  // Checked here because Azure would refuse them half-way through a deploy.
  if (regions.length + 1 > FRONT_DOOR_ENDPOINTS[frontDoorSku]) {
    fail(
      "regions",
      `Front Door ${frontDoorSku} has ${FRONT_DOOR_ENDPOINTS[frontDoorSku]} endpoints: one global, one per region`,
    );
  }
  const nodesPerRegion = optNumber(get("nodesPerRegion"), "nodesPerRegion", 2, 1, 20);
  if (regions.length * nodesPerRegion > FRONT_DOOR_ORIGINS_PER_GROUP) {
    fail("nodesPerRegion", `the global endpoint takes at most ${FRONT_DOOR_ORIGINS_PER_GROUP} nodes in all`);
  }
  return {
    regions,
    location,
    nodesPerRegion,
    nodeSize: parseNodeSize(get("nodeSize")),
    port: optNumber(get("port"), "port", 7400, 1, 65535),
    ...(image ? { image } : {}),
    nameSalt: optString(get("nameSalt"), "nameSalt") ?? "",
    eventHubs: {
      sku,
      capacity: optNumber(eh.capacity, "kafka.eventHubs.capacity", 1, 1, 40),
      partitions: optNumber(eh.partitions, "kafka.eventHubs.partitions", 4, 1, sku === "Standard" ? 32 : 100),
      // Standard keeps events at most 7 days; recovery only needs the last minutes to hours.
      retentionHours: optNumber(eh.retentionHours, "kafka.eventHubs.retentionHours", 24, 1, 168),
      auth: oneOf(eh.auth, "kafka.eventHubs.auth", ["sas", "entra"], "sas"),
    },
    externalKafka: parseExternal(kafka.external, regions),
    frontDoor: {
      sku: frontDoorSku,
      ...(customDomain ? { customDomain } : {}),
    },
    corsOrigins: optList(get("corsOrigins"), "corsOrigins", (o) => WEB_ORIGIN.test(o), "a web origin"),
    alertEmails: optList(get("alertEmails"), "alertEmails", (e) => EMAIL.test(e), "an email address"),
    logRetentionDays: optNumber(get("logRetentionDays"), "logRetentionDays", 30, 30, 730),
    collectorImage: optString(get("collectorImage"), "collectorImage") ?? DEFAULT_COLLECTOR_IMAGE,
    rolePropagationSeconds: optNumber(get("rolePropagationSeconds"), "rolePropagationSeconds", 120, 0, 900),
    drainSeconds: optNumber(get("drainSeconds"), "drainSeconds", 60, 0, 600),
  };
}

/**
 * Hub access keys as the broker takes them (REGIO_ACCESS_KEY): comma-separated, the first signs,
 * any verifies, each 32 bytes or more (the broker refuses shorter ones: a deploy would never become
 * ready). A key may not hold what would break that list or a connection string.
 */
export function checkAccessKeys(value: string): string {
  const keys = value.split(",");
  keys.forEach((key, i) => {
    if (!/^[^\s,;]+$/.test(key) || Buffer.byteLength(key, "utf8") < 32) {
      fail("accessKey", `key ${i + 1} must be 32 bytes or more, without spaces, commas or semicolons`);
    }
  });
  return value;
}

/** The signing key: the first of the list (what app servers put in their connection strings). */
export function signingKey(accessKey: string): string {
  return accessKey.split(",")[0] ?? "";
}

/** Reads the `regio:*` stack configuration. */
export function loadConfig(): RegioConfig {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  // Strings are read as text (a salt such as 1234 must stay a string); the rest is YAML/JSON.
  const settings = parseSettings((key) =>
    TEXT_KEYS.has(key) && !isJsonList(config.get(key)) ? config.get(key) : config.getObject<unknown>(key),
  );
  const missingPassword = Object.entries(settings.externalKafka).filter(([, k]) => k.saslMechanism);
  const kafkaPasswords =
    config.getSecretObject<Record<string, string>>("kafkaPasswords") ??
    pulumi.secret<Record<string, string>>({});
  return {
    ...settings,
    accessKey: config.requireSecret("accessKey").apply(checkAccessKeys),
    kafkaPasswords: kafkaPasswords.apply((passwords) => {
      for (const [region] of missingPassword) {
        if (typeof passwords[region] !== "string") fail(`kafkaPasswords.${region}`, "missing (SASL is set)");
      }
      return passwords;
    }),
  };
}

/** Lists may be set with `--path 'key[0]'` (stored as JSON) or as one comma-separated string. */
function isJsonList(text: string | undefined): boolean {
  return text !== undefined && text.trimStart().startsWith("[");
}
