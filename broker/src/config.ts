import { parseArgs, type ParseArgsConfig } from "node:util";
import { weakAccessKey } from "./access-keys.ts";

/** One Kafka cluster as the broker reaches it. */
export interface KafkaConnection {
  brokers: string[];
  ssl: boolean;
  sasl?: { mechanism: "plain"; username: string; password: string };
  /**
   * SASL OAUTHBEARER with a Microsoft Entra access token of the node's managed identity (Azure
   * Event Hubs; `<prefix>SASL_MECHANISM=oauthbearer`): the token is for the resource
   * `https://<host of the first broker>`, `clientId` (AZURE_CLIENT_ID) picks a user-assigned
   * identity. The token comes from the platform's managed identity endpoint (IDENTITY_ENDPOINT,
   * IDENTITY_HEADER), cached until shortly before it expires (replication/kafka/entra-token.ts).
   */
  oauthBearer?: { tokenSource: "azure-managed-identity"; clientId?: string };
}

export interface BrokerConfig {
  port: number;
  host: string;
  /** The first access key: it signs app-link tokens and records (see accessKeys). */
  accessKey: string;
  /** Every access key given (comma-separated, for rotation): the first signs, any verifies. */
  accessKeys: string[];
  region: string;
  nodeId?: string;
  advertisedUrl?: string;
  pingInterval: number;
  pingTimeout: number;
  maxHttpBufferSize: number;
  connectTimeout: number;
  maxClientQueueBytes: number;
  corsOrigin?: string[];
  /** Browsers may send credentials (cookies, HTTP auth) to this node: engine.io's `cors.credentials`. */
  corsCredentials: boolean;
  /** This region's Kafka; absent: a lone node with in-process replication. */
  kafka?: KafkaConnection;
  /** Every other region's Kafka, by region name. */
  peers: Map<string, KafkaConnection>;
  /** Topic base names (default regio.events, regio.membership, regio.nodes). */
  topics: { events?: string; membership?: string; nodes?: string };
  /** Peers' topics are mirrored into the local Kafka as `<region>.<topic>` (MirrorMaker 2). */
  mirrored: boolean;
  /** Lease after which a silent node is gone, ms. */
  leaseMs: number;
  /** Events waiting for Kafka, at most, bytes. */
  maxBufferBytes: number;
  /** Largest operation an app server may send, bytes (it must fit one Kafka record). */
  maxOperationBytes: number;
  /** Hubs one node holds at most. */
  maxHubs: number;
  /** Bytes written to one app server and not yet sent, at most. */
  maxLinkBufferedBytes: number;
  /** How long recoverable events are kept for clients that come back, ms. */
  recoveryWindowMs: number;
  /** Bytes of recoverable events kept per hub at most. */
  recoveryMaxBytes: number;
  /** How long a drain (SIGTERM, `regio drain`) may take before the process exits anyway, ms. */
  drainTimeoutMs: number;
  /** Bytes per write to Kafka, at most. */
  maxBatchBytes: number;
  /** A record larger than this (key, value, headers) is refused, bytes. */
  maxRecordBytes: number;
  /** Globs another node's advertised URL must match (default: this node's scheme and host, any port). */
  nodeUrlPatterns?: string[];
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Flag -> environment variable; a flag given on the command line wins. */
const FLAGS = {
  port: "REGIO_PORT",
  host: "REGIO_HOST",
  "access-key": "REGIO_ACCESS_KEY",
  region: "REGIO_REGION",
  "node-id": "REGIO_NODE_ID",
  advertise: "REGIO_ADVERTISED_URL",
  "ping-interval": "REGIO_PING_INTERVAL",
  "ping-timeout": "REGIO_PING_TIMEOUT",
  "max-http-buffer-size": "REGIO_MAX_HTTP_BUFFER_SIZE",
  "connect-timeout": "REGIO_CONNECT_TIMEOUT",
  "max-client-queue-bytes": "REGIO_MAX_CLIENT_QUEUE_BYTES",
  "cors-origin": "REGIO_CORS_ORIGIN",
  "cors-credentials": "REGIO_CORS_CREDENTIALS",
  kafka: "REGIO_KAFKA",
  "topic-events": "REGIO_TOPIC_EVENTS",
  "topic-membership": "REGIO_TOPIC_MEMBERSHIP",
  "topic-nodes": "REGIO_TOPIC_NODES",
  mirrored: "REGIO_MIRRORED",
  "lease-ms": "REGIO_LEASE_MS",
  "max-buffer-bytes": "REGIO_MAX_BUFFER_BYTES",
  "max-operation-bytes": "REGIO_MAX_OPERATION_BYTES",
  "max-hubs": "REGIO_MAX_HUBS",
  "max-link-buffered-bytes": "REGIO_MAX_LINK_BUFFERED_BYTES",
  "recovery-window-ms": "REGIO_RECOVERY_WINDOW_MS",
  "recovery-max-bytes": "REGIO_RECOVERY_MAX_BYTES",
  "drain-timeout-ms": "REGIO_DRAIN_TIMEOUT_MS",
  "max-batch-bytes": "REGIO_MAX_BATCH_BYTES",
  "max-record-bytes": "REGIO_MAX_RECORD_BYTES",
  "node-url-pattern": "REGIO_NODE_URL_PATTERN",
} as const;

export const USAGE = `usage: regio broker --access-key KEY [options]   (every flag also reads REGIO_<FLAG>)
A broker node: serves Socket.IO clients and the app servers of every hub, until SIGINT/SIGTERM.
  --port N                  listen port, 0-65535 (7400)           REGIO_PORT
  --host ADDR               bind address (127.0.0.1)              REGIO_HOST
  --access-key KEY[,OLD]    access key(s) (required), 32 bytes or REGIO_ACCESS_KEY
                            more each: the first signs, any
                            verifies (rotation); openssl rand -hex 32 makes one
  --region NAME             region name (local)                   REGIO_REGION
  --node-id ID              node id (random)                      REGIO_NODE_ID
  --advertise URL           URL app servers reach this node at    REGIO_ADVERTISED_URL
  --ping-interval MS        Engine.IO ping interval (25000)       REGIO_PING_INTERVAL
  --ping-timeout MS         Engine.IO ping timeout (20000)        REGIO_PING_TIMEOUT
  --max-http-buffer-size B  largest client message (1000000)      REGIO_MAX_HTTP_BUFFER_SIZE
  --connect-timeout MS      time to join a namespace (45000)      REGIO_CONNECT_TIMEOUT
  --max-client-queue-bytes B  owed to one client before it is dropped (16777216)  REGIO_MAX_CLIENT_QUEUE_BYTES
  --cors-origin LIST        allowed origins, comma-separated      REGIO_CORS_ORIGIN
                            (none: any)
  --cors-credentials        browsers may send cookies (needs      REGIO_CORS_CREDENTIALS=true
                            --cors-origin)
  --kafka HOST:PORT,...     this region's Kafka                   REGIO_KAFKA (+ REGIO_KAFKA_SSL, _SASL_*)
  --peer NAME=HOST:PORT,..  another region's Kafka (repeatable)   REGIO_PEERS="a=h:p;b=h:p" (+ REGIO_PEER_<NAME>_*)
  --topic-events NAME       events topic (regio.events)           REGIO_TOPIC_EVENTS
  --topic-membership NAME   membership topic (regio.membership)   REGIO_TOPIC_MEMBERSHIP
  --topic-nodes NAME        heartbeat topic (regio.nodes)         REGIO_TOPIC_NODES
  --mirrored true           read peers as <region>.<topic> locally REGIO_MIRRORED
  --lease-ms MS             a silent node is gone after (10000)   REGIO_LEASE_MS
  --max-buffer-bytes B      events waiting for Kafka (67108864)   REGIO_MAX_BUFFER_BYTES
  --max-operation-bytes B   largest app-server operation (990000) REGIO_MAX_OPERATION_BYTES
  --max-hubs N              hubs one node holds (1000)            REGIO_MAX_HUBS
  --max-link-buffered-bytes B  owed to one app server before its link is dropped (67108864)  REGIO_MAX_LINK_BUFFERED_BYTES
  --recovery-window-ms MS   events kept for clients that come back (120000)  REGIO_RECOVERY_WINDOW_MS
  --recovery-max-bytes B    recoverable events kept per hub (67108864)       REGIO_RECOVERY_MAX_BYTES
  --drain-timeout-ms MS     SIGTERM / regio drain: exit after at most (15000) REGIO_DRAIN_TIMEOUT_MS
  --max-batch-bytes B       bytes per write to Kafka (900000)     REGIO_MAX_BATCH_BYTES
  --max-record-bytes B      largest record, refused above (1000000) REGIO_MAX_RECORD_BYTES
  --node-url-pattern GLOBS  other nodes' URLs, comma-separated    REGIO_NODE_URL_PATTERN
                            (default: own scheme://host:*)
  --help                    this text
  --version                 the version of regio`;

export function parseBrokerConfig(argv: string[], env: NodeJS.ProcessEnv): BrokerConfig {
  const values = parseFlags(argv, {
    ...Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: "string" as const }])),
    // A switch: `--cors-credentials` alone (the variable says true or false).
    "cors-credentials": { type: "boolean" },
    peer: { type: "string", multiple: true },
  });
  const flags = values as Record<string, string | string[] | boolean | undefined>;
  const get = (flag: keyof typeof FLAGS): string | undefined =>
    (flags[flag] as string | undefined) ?? env[FLAGS[flag]];
  const accessKeys = list(get("access-key"));
  if (accessKeys.length === 0) throw new ConfigError("--access-key (or REGIO_ACCESS_KEY) is required");
  const weak = weakAccessKey(accessKeys);
  if (weak) throw new ConfigError(`--access-key: ${weak}`);
  const corsOrigin = get("cors-origin")?.split(",").filter(Boolean);
  const corsCredentials =
    (flags["cors-credentials"] as boolean | undefined) ??
    switchValue(env.REGIO_CORS_CREDENTIALS, "cors-credentials");
  if (corsCredentials && !corsOrigin?.length) {
    throw new ConfigError(
      "--cors-credentials needs --cors-origin: with credentials, only the origins named may use a visitor's cookies",
    );
  }
  const maxRecordBytes = integer(get("max-record-bytes") ?? "1000000", "max-record-bytes");
  if (maxRecordBytes < 1) throw new ConfigError("--max-record-bytes must be at least 1");
  const nodeUrlPatterns = get("node-url-pattern") === undefined ? undefined : list(get("node-url-pattern"));
  if (nodeUrlPatterns?.length === 0)
    throw new ConfigError("--node-url-pattern must name at least one pattern");
  const kafkaBrokers = get("kafka");
  const peerSpecs =
    (flags.peer as string[] | undefined) ?? (env.REGIO_PEERS ?? "").split(";").filter(Boolean);
  const peers = new Map<string, KafkaConnection>();
  for (const spec of peerSpecs) {
    const eq = spec.indexOf("=");
    if (eq <= 0) throw new ConfigError(`--peer '${spec}' must look like NAME=HOST:PORT[,HOST:PORT]`);
    const name = spec.slice(0, eq);
    peers.set(name, kafkaConnection(spec.slice(eq + 1), env, `REGIO_PEER_${envName(name)}_`));
  }
  if (!kafkaBrokers && peers.size > 0)
    throw new ConfigError("--peer needs --kafka (this region's own Kafka)");
  return {
    port: port(get("port") ?? "7400", "port"),
    host: get("host") ?? "127.0.0.1",
    accessKey: accessKeys[0]!,
    accessKeys,
    region: get("region") ?? "local",
    nodeId: get("node-id"),
    advertisedUrl: get("advertise"),
    pingInterval: integer(get("ping-interval") ?? "25000", "ping-interval"),
    pingTimeout: integer(get("ping-timeout") ?? "20000", "ping-timeout"),
    maxHttpBufferSize: integer(get("max-http-buffer-size") ?? "1000000", "max-http-buffer-size"),
    connectTimeout: integer(get("connect-timeout") ?? "45000", "connect-timeout"),
    maxClientQueueBytes: integer(
      get("max-client-queue-bytes") ?? String(16 * 1024 * 1024),
      "max-client-queue-bytes",
    ),
    corsOrigin,
    corsCredentials,
    kafka: kafkaBrokers ? kafkaConnection(kafkaBrokers, env, "REGIO_KAFKA_") : undefined,
    peers,
    topics: { events: get("topic-events"), membership: get("topic-membership"), nodes: get("topic-nodes") },
    mirrored: get("mirrored") === "true",
    leaseMs: integer(get("lease-ms") ?? "10000", "lease-ms"),
    maxBufferBytes: integer(get("max-buffer-bytes") ?? String(64 * 1024 * 1024), "max-buffer-bytes"),
    maxOperationBytes: integer(get("max-operation-bytes") ?? "990000", "max-operation-bytes"),
    maxHubs: integer(get("max-hubs") ?? "1000", "max-hubs"),
    maxLinkBufferedBytes: integer(
      get("max-link-buffered-bytes") ?? String(64 * 1024 * 1024),
      "max-link-buffered-bytes",
    ),
    recoveryWindowMs: integer(get("recovery-window-ms") ?? "120000", "recovery-window-ms"),
    recoveryMaxBytes: integer(get("recovery-max-bytes") ?? String(64 * 1024 * 1024), "recovery-max-bytes"),
    drainTimeoutMs: integer(get("drain-timeout-ms") ?? "15000", "drain-timeout-ms"),
    maxBatchBytes: integer(get("max-batch-bytes") ?? "900000", "max-batch-bytes"),
    maxRecordBytes,
    nodeUrlPatterns,
  };
}

/** Region names as they appear in environment variable names: upper case, `_` for anything else. */
export function envName(region: string): string {
  return region.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

function kafkaConnection(brokers: string, env: NodeJS.ProcessEnv, prefix: string): KafkaConnection {
  const list = brokers.split(",").map((b) => b.trim());
  for (const broker of list) {
    if (!/^[^:\s]+:\d+$/.test(broker))
      throw new ConfigError(`Kafka broker '${broker}' must look like HOST:PORT`);
  }
  const username = env[`${prefix}SASL_USERNAME`];
  const password = env[`${prefix}SASL_PASSWORD`];
  const mechanism = env[`${prefix}SASL_MECHANISM`] ?? "plain";
  const ssl = env[`${prefix}SSL`] === "true";
  if (mechanism === "oauthbearer") {
    if (username !== undefined || password !== undefined) {
      throw new ConfigError(`${prefix}SASL_USERNAME and ${prefix}SASL_PASSWORD do not go with oauthbearer`);
    }
    const clientId = env.AZURE_CLIENT_ID;
    return {
      brokers: list,
      ssl,
      oauthBearer: { tokenSource: "azure-managed-identity", ...(clientId ? { clientId } : {}) },
    };
  }
  if (mechanism !== "plain")
    throw new ConfigError(`${prefix}SASL_MECHANISM '${mechanism}' is not supported (plain, oauthbearer)`);
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigError(`${prefix}SASL_USERNAME and ${prefix}SASL_PASSWORD go together`);
  }
  return {
    brokers: list,
    ssl,
    sasl:
      username !== undefined && password !== undefined
        ? { mechanism: "plain", username, password }
        : undefined,
  };
}

/** A comma-separated list, trimmed, without empty items. */
function list(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

/**
 * Node's parseArgs, with its complaints (an unknown flag, a flag without its value, a stray word)
 * as ConfigErrors of one line.
 */
export function parseFlags(argv: string[], options: NonNullable<ParseArgsConfig["options"]>) {
  return parseCommandLine(argv, options, false).values;
}

/** parseFlags for a command that also takes words (positionals), e.g. `regio drain <node URL>`. */
export function parseCommandLine(
  argv: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
      // Node adds sentences of advice, on more lines; the first says what is wrong.
      const what = (error as Error).message.split("\n")[0]!.split(". ")[0]!.replace(/\.$/, "");
      const flag = /'(--[^' ]+)/.exec(what)?.[1];
      const hint = /ambiguous/.test(what) && flag ? ` (a value that starts with '-': ${flag}=VALUE)` : "";
      throw new ConfigError(what + hint);
    }
    throw error;
  }
}

/** A TCP port: 0 (any free one) to 65535. */
export function port(text: string, flag: string): number {
  const value = integer(text, flag);
  if (value > 65535) throw new ConfigError(`--${flag} must be a port, 0 to 65535, got '${text}'`);
  return value;
}

/** `true` or `false` (an environment variable of a switch); anything else is refused. */
function switchValue(text: string | undefined, flag: string): boolean {
  if (text === undefined || text === "" || text === "false") return false;
  if (text === "true") return true;
  throw new ConfigError(`--${flag} is a switch: its variable must be true or false, got '${text}'`);
}

export function integer(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ConfigError(`--${flag} must be a whole number, got '${text}'`);
  return value;
}
