import { randomUUID } from "node:crypto";
import { NodeId } from "@regio/protocol";
import { startBroker, type BrokerHandle } from "../broker.ts";
import { ConfigError, parseBrokerConfig, USAGE } from "../config.ts";
import { createLogger } from "../logger.ts";
import { KafkaReplicator } from "../replication/kafka/kafka-replicator.ts";
import { parseOtelConfig } from "../telemetry/otel-config.ts";
import { createTelemetry } from "../telemetry/telemetry.ts";
import type { Command } from "./command.ts";
import { listenFailure } from "./listen-failure.ts";
import { exitWithFatal, logProcessEventsTo } from "./process-log.ts";

/**
 * `regio broker`: a broker node, until SIGINT/SIGTERM or `regio drain`, which drain it first. From
 * its first log line on, it logs JSON only.
 */
export const brokerCommand: Command = {
  name: "broker",
  summary: "a broker node: serves Socket.IO clients and the app servers of every hub",
  usage: USAGE,
  run: runBroker,
};

async function runBroker(argv: string[]): Promise<void> {
  const config = parseBrokerConfig(argv, process.env);
  const otel = parseOtelConfig(process.env);
  const nodeId = NodeId(config.nodeId ?? randomUUID());
  const logger = createLogger({ node: nodeId, region: config.region });
  logProcessEventsTo(logger);
  // The node's own OpenTelemetry, from the standard OTEL_* variables (README, "Observability").
  const telemetry = await createTelemetry({ nodeId, region: config.region, config: otel, log: logger });
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
  // SIGINT, SIGTERM (a rolling update, `docker stop`) and `regio drain`: drain, close and exit
  // within --drain-timeout-ms.
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.drainTimeoutMs }, "drain took too long; exiting");
      process.exit(1);
    }, config.drainTimeoutMs);
    deadline.unref();
    // Asked while still starting (a drain request once it listens): nothing served yet to drain.
    await broker?.drain();
    await broker?.close();
    process.exit(0);
  };
  let broker: BrokerHandle | undefined;
  try {
    broker = await startBroker({
      ...config,
      // App-link tokens verify with any of the keys (the broker splits the list), as records do.
      accessKey: config.accessKeys.join(","),
      nodeId,
      logger,
      replicator,
      telemetry,
      cors: {
        // No --cors-origin: any origin, as engine.io's CORS middleware and the node's own refusals say.
        origin: config.corsOrigin ?? true,
        credentials: config.corsCredentials,
      },
      onDrainRequest: () => void stop(),
    });
  } catch (error) {
    const failure = listenFailure(error, config.host, config.port);
    if (failure) throw new ConfigError(failure);
    exitWithFatal(logger, error, "the broker could not start");
  }
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}
