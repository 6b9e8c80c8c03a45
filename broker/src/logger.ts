import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Structured JSON logs on stdout; `REGIO_LOG_LEVEL` (default info; "silent" in tests) sets the level.
 * Each line is written when it is logged (synchronously): the last words of a process that exits at
 * once (a fatal error) are never left in a buffer. A node logs little, so the writes cost nothing.
 */
export function createLogger(
  bindings: Record<string, string>,
  level = process.env.REGIO_LOG_LEVEL ?? "info",
): Logger {
  return pino({ level, base: bindings }, pino.destination({ dest: 1, sync: true }));
}
