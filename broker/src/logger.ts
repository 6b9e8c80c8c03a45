import { pino, type Logger } from "pino";

export type { Logger };

/** Structured JSON logs on stdout; `REGIO_LOG_LEVEL` (default info; "silent" in tests) sets the level. */
export function createLogger(
  bindings: Record<string, string>,
  level = process.env.REGIO_LOG_LEVEL ?? "info",
): Logger {
  return pino({ level, base: bindings });
}
