import type { Logger } from "../logger.ts";

/**
 * From here on, everything the process has to say is a JSON line of `logger`, as a log collector
 * expects: an uncaught exception or unhandled rejection is logged at level fatal, with its stack and
 * fields, and the process exits with 1; Node's own warnings (deprecations, negative timeouts...),
 * which Node would print as text on stderr, are logged as warnings.
 */
export function logProcessEventsTo(logger: Logger): void {
  process.on("uncaughtException", (error) => exitWithFatal(logger, error, "uncaught exception; exiting"));
  process.on("unhandledRejection", (reason) => exitWithFatal(logger, reason, "unhandled rejection; exiting"));
  // Node prints warnings through a listener of its own; without it, they are only ours to log.
  process.removeAllListeners("warning");
  process.on("warning", (warning) => logger.warn({ err: warning }, "Node.js warning"));
}

/** Logs `error` at level fatal and exits with 1 (pino writes stdout synchronously, so the line is out). */
export function exitWithFatal(logger: Logger, error: unknown, message: string): never {
  logger.fatal({ err: error }, message);
  process.exit(1);
}
