import type { LogEntry, logCreator } from "kafkajs";
import type { Logger } from "../../logger.ts";

/**
 * kafkajs's own log into the node's, one JSON line per entry with every field kafkajs gave it
 * (error, stack, broker, clientId, retryCount, retryTime, groupId...), so that a Kafka problem can
 * be traced from the log alone. At debug level: kafkajs logs every failed attempt, while the
 * readers and the publish buffer report what matters (once per change, in logs and readiness).
 */
export function kafkaLogCreator(log: Logger): logCreator {
  return () =>
    ({ namespace, label, log: entry }: LogEntry) => {
      // Its timestamp and logger name say nothing pino's line does not; the message is pino's msg.
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
      log.debug({ namespace, kafkaLevel: label, ...fields }, message);
    };
}
