import { DRAIN_PATH, HEALTH_PATH, NodeId, signLinkToken } from "@regio/protocol";
import { DRAIN_AUDIENCE } from "./node/app-link-auth.ts";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { startBroker } from "./broker.ts";
import { ConfigError, parseBrokerConfig, USAGE } from "./config.ts";
import { GLOBAL_USAGE, parseGlobalConfig } from "./global/config.ts";
import { startGlobalEndpoint } from "./global/global-endpoint.ts";
import { createLogger } from "./logger.ts";
import { KafkaReplicator } from "./replication/kafka/kafka-replicator.ts";
import { parseOtelConfig } from "./telemetry/otel-config.ts";
import { createTelemetry } from "./telemetry/telemetry.ts";

/** `regio broker|global|kafka ...`; exits non-zero with a clear message on bad flags. */
async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "broker":
      return runBroker(rest);
    case "global":
      return runGlobal(rest);
    case "drain":
      return runDrain(rest);
    case "kafka":
      return runKafka(rest);
    default:
      console.error(`unknown command '${command ?? ""}'\ncommands: broker, global, drain, kafka\n\n${USAGE}`);
      process.exit(2);
  }
}

async function runBroker(argv: string[]): Promise<void> {
  if (wantsHelp(argv)) return console.log(USAGE);
  let config;
  let otel;
  try {
    config = parseBrokerConfig(argv, process.env);
    otel = parseOtelConfig(process.env);
  } catch (error) {
    console.error(`regio broker: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  const nodeId = NodeId(config.nodeId ?? randomUUID());
  const logger = createLogger({ node: nodeId, region: config.region });
  // The node's own OpenTelemetry, from the standard OTEL_* variables (README, "Observability").
  const telemetry = await createTelemetry({ nodeId, region: config.region, config: otel, log: logger });
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
        tracing: telemetry.tracing,
      })
    : undefined;
  // SIGTERM (a rolling update, `docker stop`) and `regio drain`: drain, close, exit, within a bound.
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.drainTimeoutMs }, "drain took too long; exiting");
      process.exit(1);
    }, config.drainTimeoutMs);
    deadline.unref();
    await broker.drain();
    await broker.close();
    process.exit(0);
  };
  const broker = await startBroker({
    ...config,
    // App-link tokens verify with any of the keys (the broker splits the list), as records do.
    accessKey: config.accessKeys.join(","),
    nodeId,
    logger,
    replicator,
    telemetry,
    cors: config.corsOrigin ? { origin: config.corsOrigin } : undefined,
    onDrainRequest: () => void stop(),
  });
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

/**
 * `regio drain <node URL> [--access-key KEY]`: asks a node to drain (authenticated with the access
 * key) and waits until it has stopped (it drains, closes and exits).
 */
async function runDrain(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      "access-key": { type: "string" },
      "timeout-ms": { type: "string" },
      help: { type: "boolean" },
    },
    allowPositionals: true,
  });
  if (values.help) return console.log(DRAIN_USAGE);
  const [target] = positionals;
  const accessKey = (values["access-key"] ?? process.env.REGIO_ACCESS_KEY ?? "").split(",")[0];
  if (!target || !accessKey) {
    console.error(`regio drain: a node URL and an access key are needed\n\n${DRAIN_USAGE}`);
    process.exit(2);
  }
  const token = signLinkToken(accessKey, { hub: DRAIN_AUDIENCE, sub: "regio-drain", ttlSeconds: 60 });
  const answer = await fetch(new URL(DRAIN_PATH, target), {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  }).catch((error: unknown) => error as Error);
  if (answer instanceof Error) {
    console.error(`regio drain: cannot reach ${target}: ${answer.message}`);
    process.exit(1);
  }
  const body = await answer.text();
  if (answer.status !== 202) {
    console.error(`regio drain: ${target} refused (HTTP ${answer.status}): ${body}`);
    process.exit(1);
  }
  const deadline = Date.now() + Number(values["timeout-ms"] ?? 60_000);
  while (Date.now() < deadline) {
    const alive = await fetch(new URL(HEALTH_PATH, target), { signal: AbortSignal.timeout(1000) }).then(
      () => true,
      () => false,
    );
    if (!alive) {
      console.log(JSON.stringify({ drained: target }));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  console.error(`regio drain: ${target} is still up after the timeout`);
  process.exit(1);
}

const DRAIN_USAGE = `usage: regio drain <node URL> [--access-key KEY] [--timeout-ms MS]   (the key also from REGIO_ACCESS_KEY)
  Asks the node to drain: it takes no new sessions, its app servers move their operations, its clients
  reconnect elsewhere and recover their sockets; then it stops. Waits until it has (default 60000 ms).`;

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
