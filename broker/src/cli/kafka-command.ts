import { createServer } from "node:net";
import { ConfigError, parseFlags, port } from "../config.ts";
import type { Command } from "./command.ts";
import { listenFailure } from "./listen-failure.ts";
import { closeOnSignals } from "./signals.ts";

/**
 * What `regio kafka` uses of @regio/dev-kafka. That package (Java, Maven) is optional: the broker
 * installs without it, so it is loaded by name only when this command runs, and this is the shape
 * expected of it (broker/test/cli-kafka.test.ts holds the real package to it).
 */
export interface DevKafka {
  startKafka(options: { port: number; dataDir?: string }): Promise<{
    readonly brokers: string;
    readonly dataDir: string;
    readonly pid: number;
    stop(): Promise<void>;
  }>;
}

const DEV_KAFKA = "@regio/dev-kafka";
const HOST = "127.0.0.1";

export const KAFKA_USAGE = `usage: regio kafka [--port N] [--data DIR]
A single-node Kafka (KRaft) on ${HOST} for development, until Ctrl-C. Needs the package
${DEV_KAFKA} (npm install --save-dev ${DEV_KAFKA}), Java 17 and Maven: Kafka's jars are
fetched from Maven Central on first use.
  --port N                  client port, 0-65535 (19092; 0: any free one)
  --data DIR                data directory, kept across runs (default: a temporary one,
                            deleted when it stops)
  --help                    this text
  --version                 the version of regio`;

/** `regio kafka`: a development Kafka, until SIGINT/SIGTERM. Prints text: it is a tool for people. */
export const kafkaCommand: Command = {
  name: "kafka",
  summary: `a single-node Kafka for development (needs ${DEV_KAFKA}, Java and Maven)`,
  usage: KAFKA_USAGE,
  run: runKafka,
};

async function runKafka(argv: string[]): Promise<void> {
  const values = parseFlags(argv, { port: { type: "string" }, data: { type: "string" } });
  const kafkaPort = port((values.port as string | undefined) ?? "19092", "port");
  const dataDir = values.data as string | undefined;
  const devKafka = await loadDevKafka();
  // Kafka would fail on a port in use only after Maven and the JVM started, in its own words.
  if (kafkaPort !== 0) await checkPortFree(kafkaPort);
  const kafka = await devKafka.startKafka({ port: kafkaPort, dataDir });
  console.log(`Kafka ${kafka.brokers} (data ${kafka.dataDir}, pid ${kafka.pid}); Ctrl-C stops it`);
  closeOnSignals(() => kafka.stop());
}

async function loadDevKafka(): Promise<DevKafka> {
  try {
    // By a name in a variable: TypeScript does not look for the optional package when building.
    return (await import(DEV_KAFKA)) as DevKafka;
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ERR_MODULE_NOT_FOUND") throw error;
    // Not installed (the usual case), or installed without its build: say which, in one line.
    const message = (error as Error).message.split("\n")[0]!;
    const detail = message.includes(`'${DEV_KAFKA}'`) ? "" : ` (${message})`;
    throw new ConfigError(
      `needs the development Kafka package: npm install --save-dev ${DEV_KAFKA}${detail}`,
    );
  }
}

async function checkPortFree(kafkaPort: number): Promise<void> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", (error) =>
      reject(new ConfigError(listenFailure(error, HOST, kafkaPort) ?? String(error))),
    );
    probe.listen(kafkaPort, HOST, () => probe.close(() => resolve()));
  });
}
