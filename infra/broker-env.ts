import * as pulumi from "@pulumi/pulumi";

/**
 * How a node authenticates to one Kafka cluster. Known from configuration before deploy (only a
 * password may be an output), so the list of environment variable names is fixed in advance.
 */
export type KafkaAuth =
  | { kind: "none" }
  /** SASL PLAIN; the password travels only through Key Vault. */
  | { kind: "sasl-plain"; username: string; password: pulumi.Input<string> }
  /** SASL OAUTHBEARER with a Microsoft Entra token of the node's managed identity (Event Hubs). */
  | { kind: "entra" };

/** How a broker reaches one Kafka cluster. */
export interface KafkaAccess {
  /** Bootstrap brokers, `host:port` joined by commas. */
  brokers: pulumi.Input<string>;
  ssl: boolean;
  auth: KafkaAuth;
}

export interface PeerKafka {
  region: string;
  kafka: KafkaAccess;
}

/** A secret a node reads: a Container Apps secret of this name, backed by a Key Vault secret of this name. */
export interface NodeSecret {
  name: string;
  value: pulumi.Input<string>;
}

/** A container environment variable: plain, or read from one of the app's secrets. */
export type EnvVar = { name: string; value: pulumi.Input<string> } | { name: string; secretRef: string };

export interface BrokerEnvArgs {
  /** The broker's port in its container (the ingress in front terminates TLS on 443). */
  port: number;
  region: string;
  /** This node's own HTTPS address: what it advertises to app servers and to the other nodes. */
  advertisedUrl: pulumi.Input<string>;
  /** Globs (`*`) matching every node URL of the deployment: peers' advertised URLs are checked against them. */
  nodeUrlPattern: pulumi.Input<string>;
  kafka: KafkaAccess;
  peers: PeerKafka[];
  corsOrigins: string[];
  /** The node's user-assigned managed identity: whose Entra tokens OAUTHBEARER uses. */
  identityClientId: pulumi.Input<string>;
  /** Time Container Apps gives a stopping node between SIGTERM and SIGKILL. */
  drainSeconds: number;
}

/** What the broker keeps of the grace period for itself: closing links and flushing Kafka after its drain. */
const DRAIN_MARGIN_MS = 5_000;

/**
 * The broker's own drain deadline inside the platform's grace period: a drain that outlives it is
 * cut short by the broker (which logs it and closes cleanly) rather than by SIGKILL.
 */
export function drainTimeoutMs(drainSeconds: number): number {
  const graceMs = drainSeconds * 1000;
  return Math.max(0, graceMs - Math.min(DRAIN_MARGIN_MS, graceMs / 2));
}

/** Container Apps secret (and Key Vault secret) names: lowercase letters, digits and hyphens. */
export const ACCESS_KEY_SECRET = "access-key";
const OWN_KAFKA_SECRET = "kafka-password";
const peerKafkaSecret = (region: string) =>
  `peer-${region.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-kafka-password`;

/** `REGIO_PEER_<NAME>_*`: the region upper-cased, every other character than A-Z and 0-9 made `_`. */
export function peerEnvName(region: string): string {
  return region.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

/** Every secret a node of this region reads; the same for all nodes of the region. */
export function brokerSecrets(
  accessKey: pulumi.Input<string>,
  kafka: KafkaAccess,
  peers: PeerKafka[],
): NodeSecret[] {
  const secrets: NodeSecret[] = [{ name: ACCESS_KEY_SECRET, value: accessKey }];
  if (kafka.auth.kind === "sasl-plain") secrets.push({ name: OWN_KAFKA_SECRET, value: kafka.auth.password });
  for (const peer of peers) {
    if (peer.kafka.auth.kind === "sasl-plain") {
      secrets.push({ name: peerKafkaSecret(peer.region), value: peer.kafka.auth.password });
    }
  }
  return secrets;
}

const plain = (name: string, value: pulumi.Input<string>): EnvVar => ({ name, value });

/** `<prefix>_SSL` and the SASL settings: the shape shared by a node's own and its peers' Kafka. */
function kafkaSecurity(prefix: string, kafka: KafkaAccess, passwordSecret: string): EnvVar[] {
  const vars = [plain(`${prefix}_SSL`, String(kafka.ssl))];
  switch (kafka.auth.kind) {
    case "sasl-plain":
      vars.push(
        plain(`${prefix}_SASL_MECHANISM`, "plain"),
        plain(`${prefix}_SASL_USERNAME`, kafka.auth.username),
        { name: `${prefix}_SASL_PASSWORD`, secretRef: passwordSecret },
      );
      break;
    case "entra":
      vars.push(plain(`${prefix}_SASL_MECHANISM`, "oauthbearer"));
      break;
    case "none":
      break;
  }
  return vars;
}

/**
 * The broker's configuration contract (broker/src/config.ts), for one node. No REGIO_NODE_ID: while
 * a node is updated its old and new revision run side by side for a moment, and two processes
 * heartbeating under one id would take turns evicting each other's sockets; a fresh id per start
 * makes the new revision another node, and the old one leaves after its lease.
 */
export function brokerEnv(args: BrokerEnvArgs): EnvVar[] {
  const env: EnvVar[] = [
    plain("REGIO_PORT", String(args.port)),
    // Containers must bind every interface; the advertised URL is what others use.
    plain("REGIO_HOST", "0.0.0.0"),
    { name: "REGIO_ACCESS_KEY", secretRef: ACCESS_KEY_SECRET },
    plain("REGIO_REGION", args.region),
    plain("REGIO_ADVERTISED_URL", args.advertisedUrl),
    plain("REGIO_NODE_URL_PATTERN", args.nodeUrlPattern),
    plain("REGIO_DRAIN_TIMEOUT_MS", String(drainTimeoutMs(args.drainSeconds))),
    plain("REGIO_KAFKA", args.kafka.brokers),
    ...kafkaSecurity("REGIO_KAFKA", args.kafka, OWN_KAFKA_SECRET),
  ];
  if (args.peers.length > 0) {
    const entries = args.peers.map((p) => pulumi.interpolate`${p.region}=${p.kafka.brokers}`);
    env.push(
      plain(
        "REGIO_PEERS",
        pulumi.all(entries).apply((e) => e.join(";")),
      ),
    );
    for (const peer of args.peers) {
      env.push(
        ...kafkaSecurity(`REGIO_PEER_${peerEnvName(peer.region)}`, peer.kafka, peerKafkaSecret(peer.region)),
      );
    }
  }
  if (args.corsOrigins.length > 0) env.push(plain("REGIO_CORS_ORIGIN", args.corsOrigins.join(",")));
  // Azure's SDKs and the broker's token provider pick the user-assigned identity by this variable.
  const usesEntra = [args.kafka, ...args.peers.map((p) => p.kafka)].some((k) => k.auth.kind === "entra");
  if (usesEntra) env.push(plain("AZURE_CLIENT_ID", args.identityClientId));
  return env;
}
