import * as pulumi from "@pulumi/pulumi";

/**
 * How a broker reaches one Kafka cluster. Only `brokers` and `password` may be outputs: the rest
 * is known from configuration, so the list of environment variable names is fixed before deploy.
 */
export interface KafkaAccess {
  /** Bootstrap brokers, `host:port` joined by commas. */
  brokers: pulumi.Input<string>;
  ssl: boolean;
  saslMechanism?: string;
  username?: string;
  /** A secret; present exactly when `saslMechanism` is. */
  password?: pulumi.Input<string>;
}

export interface PeerKafka {
  region: string;
  kafka: KafkaAccess;
}

/** A container environment variable; Azure Container Instances hides `secureValue` from reads. */
export interface EnvVar {
  name: string;
  value?: pulumi.Input<string>;
  secureValue?: pulumi.Input<string>;
}

export interface BrokerEnvArgs {
  port: number;
  region: string;
  nodeId: string;
  advertisedUrl: pulumi.Input<string>;
  accessKey: pulumi.Input<string>;
  kafka: KafkaAccess;
  peers: PeerKafka[];
}

/** `REGIO_PEER_<NAME>_*`: the region upper-cased, every other character than A-Z and 0-9 made `_`. */
export function peerEnvName(region: string): string {
  return region.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

const plain = (name: string, value: pulumi.Input<string>): EnvVar => ({ name, value });
const secure = (name: string, value: pulumi.Input<string>): EnvVar => ({
  name,
  secureValue: pulumi.secret(value),
});

/** `<prefix>_SSL` and the SASL settings, the shape shared by a node's own and its peers' Kafka. */
function kafkaSecurity(prefix: string, kafka: KafkaAccess): EnvVar[] {
  const vars = [plain(`${prefix}_SSL`, String(kafka.ssl))];
  if (kafka.saslMechanism) {
    if (kafka.password === undefined || kafka.username === undefined) {
      throw new Error(`${prefix}: SASL needs a username and a password`);
    }
    vars.push(
      plain(`${prefix}_SASL_MECHANISM`, kafka.saslMechanism),
      plain(`${prefix}_SASL_USERNAME`, kafka.username),
      secure(`${prefix}_SASL_PASSWORD`, kafka.password),
    );
  }
  return vars;
}

/** The broker CLI's configuration contract, for one node. */
export function brokerEnv(args: BrokerEnvArgs): EnvVar[] {
  const env = [
    plain("REGIO_PORT", String(args.port)),
    // Containers must bind every interface; the advertised URL is what others use.
    plain("REGIO_HOST", "0.0.0.0"),
    secure("REGIO_ACCESS_KEY", args.accessKey),
    plain("REGIO_REGION", args.region),
    plain("REGIO_NODE_ID", args.nodeId),
    plain("REGIO_ADVERTISED_URL", args.advertisedUrl),
    plain("REGIO_KAFKA", args.kafka.brokers),
    ...kafkaSecurity("REGIO_KAFKA", args.kafka),
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
      env.push(...kafkaSecurity(`REGIO_PEER_${peerEnvName(peer.region)}`, peer.kafka));
    }
  }
  return env;
}
