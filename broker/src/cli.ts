import { startBroker } from "./broker.ts";
import { ConfigError, parseBrokerConfig, USAGE } from "./config.ts";

/** `regio broker ...` and `regio kafka ...`; exits non-zero with a clear message on bad flags. */
async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "broker":
      return runBroker(rest);
    default:
      console.error(`unknown command '${command ?? ""}'\ncommands: broker, kafka\n\n${USAGE}`);
      process.exit(2);
  }
}

async function runBroker(argv: string[]): Promise<void> {
  let config;
  try {
    config = parseBrokerConfig(argv, process.env);
  } catch (error) {
    console.error(`regio broker: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (config.kafka || config.peers.size > 0) {
    console.error("regio broker: Kafka replication is not available in this build yet");
    process.exit(2);
  }
  const broker = await startBroker({
    ...config,
    cors: config.corsOrigin ? { origin: config.corsOrigin } : undefined,
  });
  const stop = async () => {
    await broker.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
