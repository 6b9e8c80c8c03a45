import { NodeId } from "@regio/protocol";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { startBroker } from "./broker.ts";
import { ConfigError, parseBrokerConfig, USAGE } from "./config.ts";
import { GLOBAL_USAGE, parseGlobalConfig } from "./global/config.ts";
import { startGlobalEndpoint } from "./global/global-endpoint.ts";
import { createLogger } from "./logger.ts";
import { KafkaReplicator } from "./replication/kafka/kafka-replicator.ts";

/** `regio broker|global|kafka ...`; exits non-zero with a clear message on bad flags. */
async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "broker":
      return runBroker(rest);
    case "global":
      return runGlobal(rest);
    case "kafka":
      return runKafka(rest);
    default:
      console.error(`unknown command '${command ?? ""}'\ncommands: broker, global, kafka\n\n${USAGE}`);
      process.exit(2);
  }
}

async function runBroker(argv: string[]): Promise<void> {
  if (wantsHelp(argv)) return console.log(USAGE);
  let config;
  try {
    config = parseBrokerConfig(argv, process.env);
  } catch (error) {
    console.error(`regio broker: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  const nodeId = NodeId(config.nodeId ?? randomUUID());
  const logger = createLogger({ node: nodeId, region: config.region });
  if (!config.kafka && config.peers.size > 0) {
    console.error("regio broker: --peer needs --kafka (this region's own Kafka)");
    process.exit(2);
  }
  const replicator = config.kafka
    ? new KafkaReplicator({
        region: config.region,
        nodeId,
        local: config.kafka,
        peers: config.peers,
        topics: config.topics,
        mirrored: config.mirrored,
        accessKeys: config.accessKeys,
        maxBufferBytes: config.maxBufferBytes,
        recoveryWindowMs: config.recoveryWindowMs,
        maxBatchBytes: config.maxBatchBytes,
        maxRecordBytes: config.maxRecordBytes,
        log: logger,
      })
    : undefined;
  const broker = await startBroker({
    ...config,
    // App-link tokens verify with any of the keys (the broker splits the list), as records do.
    accessKey: config.accessKeys.join(","),
    nodeId,
    logger,
    replicator,
    cors: config.corsOrigin ? { origin: config.corsOrigin } : undefined,
  });
  const stop = async () => {
    await broker.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

/** `regio global --region NAME=URL,... ...`: the global endpoint in front of the regions, until Ctrl-C. */
async function runGlobal(argv: string[]): Promise<void> {
  if (wantsHelp(argv)) return console.log(GLOBAL_USAGE);
  let config;
  try {
    config = parseGlobalConfig(argv, process.env);
  } catch (error) {
    console.error(`regio global: ${(error as Error).message}\n\n${GLOBAL_USAGE}`);
    process.exit(2);
  }
  const endpoint = await startGlobalEndpoint(config);
  const stop = async () => {
    await endpoint.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

function wantsHelp(argv: string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

/** `regio kafka --port 19092 --data DIR`: a single-node Kafka for development, until Ctrl-C. */
async function runKafka(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: "string" }, data: { type: "string" } },
  });
  // The development Kafka (Java, Maven) is a package of its own: installing the broker needs neither.
  let devKafka: typeof import("@regio/dev-kafka");
  try {
    devKafka = await import("@regio/dev-kafka");
  } catch {
    console.error(
      "regio kafka: needs the development Kafka package: npm install --save-dev @regio/dev-kafka",
    );
    process.exit(2);
  }
  const kafka = await devKafka.startKafka({ port: Number(values.port ?? 19092), dataDir: values.data });
  console.log(`Kafka ${kafka.brokers} (data ${kafka.dataDir}, pid ${kafka.pid}); Ctrl-C stops it`);
  const stop = async () => {
    await kafka.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
