/**
 * Equal strings that many idle clients hold, held once per node: a client's headers are kept for
 * its session's life (the app server's `socket.handshake.headers`, `fetchSockets()`), and most of
 * them say what the headers of thousands of other clients say (the same browser, language, origin).
 * Each value parsed from a request is a string of its own; sharing an equal one lets it go.
 */
export class SharedStrings {
  private readonly table = new Map<string, string>();

  constructor(
    /** At most this many strings are held; a full table starts over (bounded, whatever clients send). */
    private readonly maxEntries: number,
    /** Longer strings are kept as they are (a table entry would cost more than it might save). */
    private readonly maxLength: number,
  ) {}

  /** An equal string: one held already, or this one, held from now on. */
  share(value: string): string {
    if (value.length > this.maxLength) return value;
    const shared = this.table.get(value);
    if (shared !== undefined) return shared;
    // Starting over drops nothing a client holds: only what later clients could share.
    if (this.table.size >= this.maxEntries) this.table.clear();
    this.table.set(value, value);
    return value;
  }

  /** How many strings are held (for tests). */
  get size(): number {
    return this.table.size;
  }
}

/**
 * Headers whose values browsers send alike (one per browser version, language, site...). Values
 * of any other header (cookie, sec-websocket-key, authorization, anything unknown) are the client's
 * own more often than not: held as they come, they do not churn the table.
 */
const SHARED_HEADERS = new Set([
  "accept",
  "accept-encoding",
  "accept-language",
  "cache-control",
  "connection",
  "host",
  "origin",
  "pragma",
  "referer",
  "sec-ch-ua",
  "sec-ch-ua-mobile",
  "sec-ch-ua-platform",
  "sec-fetch-dest",
  "sec-fetch-mode",
  "sec-fetch-site",
  "sec-websocket-extensions",
  "sec-websocket-version",
  "upgrade",
  "user-agent",
  "x-forwarded-host",
  "x-forwarded-proto",
]);

/**
 * The node's table of header values: 1,024 values of up to 512 characters at most (about 0.5 MB
 * in the worst case, a client population whose values all differ; then each client holds its own
 * values as it would without the table).
 */
const headerValues = new SharedStrings(1024, 512);

/**
 * Replaces, in place, the values of `headers` that browsers send alike by equal strings held once
 * per node. Every key and every value stays equal: what the app server is told is unchanged.
 */
export function shareHeaderValues(headers: Record<string, string | string[] | undefined>): void {
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (typeof value === "string" && SHARED_HEADERS.has(name)) headers[name] = headerValues.share(value);
  }
}

/**
 * The time a socket's handshake was made (socket.io's `handshake.time`, `Date#toString()`: one
 * value per second): clients that connect in the same second hold one string. One is held.
 */
const handshakeTimes = new SharedStrings(1, 64);

export function shareHandshakeTime(time: string): string {
  return handshakeTimes.share(time);
}
