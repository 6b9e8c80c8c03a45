/**
 * Reading kafkajs errors. kafkajs wraps the broker's error (a KafkaJSProtocolError with a `type`
 * such as MESSAGE_TOO_LARGE) in retry errors (KafkaJSNumberOfRetriesExceeded, ...) as `cause`.
 */

/** The Kafka protocol error type inside `error` (its own or a cause's), if any. */
export function kafkaErrorType(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; isObject(e) && depth < 10; e = e.cause, depth++) {
    if (typeof e.type === "string") return e.type;
    if (Array.isArray(e.errors)) {
      const types = e.errors.map(kafkaErrorType);
      if (types.length > 0 && types.every((t) => t === types[0])) return types[0];
    }
  }
  return undefined;
}

/**
 * Errors that belong to the records of a request, not to the cluster or the connection: retrying
 * the same records can never succeed, so each record must be tried alone and the offender failed.
 */
const RECORD_FAULTS: ReadonlySet<string> = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  // Retriable for kafkajs (a transport could corrupt a batch); still there after its retries, it is
  // the record's (e.g. a compacted topic refusing a record without key on an older broker).
  "CORRUPT_MESSAGE",
  "INVALID_TIMESTAMP",
]);

export function isRecordFault(error: unknown): boolean {
  const type = kafkaErrorType(error);
  return type !== undefined && RECORD_FAULTS.has(type);
}

/** The record is too large for the topic (as opposed to otherwise invalid). */
export function isTooLarge(error: unknown): boolean {
  const type = kafkaErrorType(error);
  return type === "MESSAGE_TOO_LARGE" || type === "RECORD_LIST_TOO_LARGE";
}

const CONNECTION_ERRORS = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSNoBrokerAvailableError",
  "KafkaJSBrokerNotFound",
]);

/** The cluster could not be reached at all (refused, reset, no answer), as opposed to an error it gave. */
export function isConnectionError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; isObject(e) && depth < 10; e = e.cause, depth++) {
    if (typeof e.name === "string" && CONNECTION_ERRORS.has(e.name)) return true;
  }
  return false;
}

/** A short, single-line description for readiness and logs. */
export function describeError(error: unknown): string {
  const type = kafkaErrorType(error);
  const message = error instanceof Error ? error.message : String(error);
  return type && !message.includes(type) ? `${type}: ${message}` : message;
}

function isObject(value: unknown): value is Record<string, unknown> & { cause?: unknown } {
  return typeof value === "object" && value !== null;
}
