import { brokerCommand } from "./cli/broker-command.ts";
import { drainCommand } from "./cli/drain-command.ts";
import { globalCommand } from "./cli/global-command.ts";
import { kafkaCommand } from "./cli/kafka-command.ts";
import { runCli } from "./cli/run-cli.ts";

/** The `regio` command (broker/bin/regio.mjs). */
runCli(process.argv.slice(2), [brokerCommand, globalCommand, drainCommand, kafkaCommand]).catch(
  (error: unknown) => {
    // Only before a command has its JSON log can an error get here (a bug): it is shown with its stack.
    process.stderr.write(
      `regio: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
