/**
 * The parts of kafkajs that Regio reaches beyond its API, in one place: upgrading kafkajs means
 * re-checking this file (broker/test/kafkajs-internals.test.ts fails if what it relies on moved).
 */
import { createRequire } from "node:module";

/** What kafkajs 2.2.4's RequestQueue (one per broker connection) keeps, as far as the fix below reads it. */
export interface RequestQueueInternals {
  pending: unknown[];
  /** Until when (ms since the epoch) the broker asked this client to hold requests; -1: never. */
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

type RequestQueueClass = new (options: {
  maxInFlightRequests: number | null;
  requestTimeout: number;
  enforceRequestTimeout: boolean;
  clientId: string;
  broker: string;
  logger: { debug(...args: unknown[]): void; warn(...args: unknown[]): void };
}) => RequestQueueInternals;

const require = createRequire(import.meta.url);

/** kafkajs's RequestQueue class, the one its connections use (same resolved module), if it is still there. */
export function kafkajsRequestQueue(): RequestQueueClass | undefined {
  try {
    const RequestQueue = require("kafkajs/src/network/requestQueue/index.js") as unknown;
    const proto = (RequestQueue as { prototype?: Partial<RequestQueueInternals> } | undefined)?.prototype;
    if (typeof proto?.scheduleCheckPendingRequests !== "function") return undefined;
    if (typeof proto.checkPendingRequests !== "function") return undefined;
    return RequestQueue as RequestQueueClass;
  } catch {
    return undefined;
  }
}

/** Mirrors kafkajs's own CHECK_PENDING_REQUESTS_INTERVAL (requestQueue/index.js). */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

/**
 * kafkajs 2.2.4 re-checks its pending requests on a timer after every response, and re-arms that
 * timer even when nothing is pending and nothing throttles it: `throttledUntil - Date.now()` is then
 * negative, which Node runs as 1 ms, for ever (tulios/kafkajs#1556, #1704; Node 24 also warns
 * TimeoutNegativeWarning, #1751). Every Kafka connection of a node woke its event loop a thousand
 * times a second: most of an idle node's CPU, and a steady competitor of every message's latency.
 * Unfixed upstream (the project is unmaintained); this is the fix proposed there: with nothing
 * pending and no throttle in force there is nothing to check, since a request pushed later is sent
 * at once, or queued and checked by the same method. Everything else is kafkajs's own code.
 * Returns whether the fix is in place (false: kafkajs changed shape, and is left as it is).
 */
export function stopIdleRequestChecks(): boolean {
  const RequestQueue = kafkajsRequestQueue();
  if (!RequestQueue) return false;
  RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
    if (this.throttleCheckTimeoutId) return;
    let scheduleAt = this.throttledUntil - Date.now();
    if (this.pending.length > 0) {
      scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL_MS;
    } else if (scheduleAt <= 0) {
      return;
    }
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, scheduleAt);
  };
  return true;
}
