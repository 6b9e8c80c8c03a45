import { ConfigError } from "../config.ts";
import { GLOBAL_USAGE, parseGlobalConfig } from "../global/config.ts";
import { startGlobalEndpoint, type GlobalEndpointHandle } from "../global/global-endpoint.ts";
import { createLogger } from "../logger.ts";
import type { Command } from "./command.ts";
import { listenFailure } from "./listen-failure.ts";
import { exitWithFatal, logProcessEventsTo } from "./process-log.ts";
import { closeOnSignals } from "./signals.ts";

/** `regio global`: the global endpoint in front of the regions, until SIGINT/SIGTERM; logs JSON only. */
export const globalCommand: Command = {
  name: "global",
  summary: "the global endpoint: one URL for every client, routed to the nearest healthy region",
  usage: GLOBAL_USAGE,
  run: runGlobal,
};

async function runGlobal(argv: string[]): Promise<void> {
  const config = parseGlobalConfig(argv, process.env);
  const logger = createLogger({ component: "global" });
  logProcessEventsTo(logger);
  let endpoint: GlobalEndpointHandle;
  try {
    endpoint = await startGlobalEndpoint({ ...config, logger });
  } catch (error) {
    const failure = listenFailure(error, config.host, config.port);
    if (failure) throw new ConfigError(failure);
    exitWithFatal(logger, error, "the global endpoint could not start");
  }
  closeOnSignals(() => endpoint.close());
}
