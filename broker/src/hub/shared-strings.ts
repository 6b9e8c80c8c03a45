import type { RequestHandshake } from "../internals/engine-io.ts";

/**
 * Equal strings (and values) that many idle clients hold, held once per node: a client's headers are kept for
 * its session's life (the app server's `socket.handshake.headers`, `fetchSockets()`), and most of
 * them say what the headers of thousands of other clients say (the same browser, language, origin).
 * Each value parsed from a request is a string of its own; sharing an equal one lets it go.
 */
export class SharedValues<T> {
  private readonly table = new Map<string, T>();

  constructor(
    /** At most this many values are held; a full table starts over (bounded, whatever clients send). */
    private readonly maxEntries: number,
    /** Values of longer keys are kept as they are (a table entry would cost more than it might save). */
    private readonly maxKeyLength: number,
  ) {}

  /** The value held for `key` when it is `same` as `value`; else `value`, held from now on if none is. */
  share(key: string, value: T, same: (held: T, value: T) => boolean): T {
    if (key.length > this.maxKeyLength) return value;
    const held = this.table.get(key);
    if (held !== undefined) return same(held, value) ? held : value;
    // Starting over drops nothing a client holds: only what later clients could share.
    if (this.table.size >= this.maxEntries) this.table.clear();
    this.table.set(key, value);
    return value;
  }

  /** How many values are held (for tests). */
  get size(): number {
    return this.table.size;
  }
}

/** Equal strings held once (see SharedValues). */
export class SharedStrings {
  private readonly values: SharedValues<string>;

  constructor(maxEntries: number, maxLength: number) {
    this.values = new SharedValues(maxEntries, maxLength);
  }

  /** An equal string: one held already, or this one, held from now on. */
  share(value: string): string {
    return this.values.share(value, value, () => true);
  }

  /** How many strings are held (for tests). */
  get size(): number {
    return this.values.size;
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

/** What a request's URL says, as a session keeps it: the URL and the query engine.io parsed from it. */
interface RequestTarget {
  readonly url: string;
  readonly query: Readonly<Record<string, unknown>>;
}

/**
 * The node's table of request URLs with their parsed queries: the same 1,024 / 512-character
 * bounds as header values, for WebSocket sessions only. A WebSocket client's URL is usually its
 * library's and nothing else (`/socket.io/?EIO=4&transport=websocket`); with a token of its own
 * in it, it takes a table entry for nothing (the table is bounded: no more than that).
 */
const requestTargets = new SharedValues<RequestTarget>(1024, 512);

/**
 * What a session keeps of its handshake request, with what other clients' say alike held once per
 * node: header values (see shareHeaderValues), and its URL with its parsed query (the query held
 * is the one parsed from an equal URL, and only if it has the same keys and values; nothing on the
 * node writes a kept query). Every value stays equal: what the app server is told is unchanged.
 */
export function shareRequestParts(request: RequestHandshake): RequestHandshake {
  shareHeaderValues(request.headers);
  // A polling client's handshake URL has a timestamp of its own (`t=`): not worth a table entry.
  if (request.query.transport !== "websocket") return request;
  const target = requestTargets.share(request.url, { url: request.url, query: request.query }, sameTarget);
  return { url: target.url, headers: request.headers, secure: request.secure, query: target.query };
}

/** Same URL, and queries with the same keys, each with the same string (or array of strings) value. */
function sameTarget(held: RequestTarget, target: RequestTarget): boolean {
  const keys = Object.keys(target.query);
  if (held.url !== target.url || Object.keys(held.query).length !== keys.length) return false;
  return keys.every((key) => {
    if (!Object.hasOwn(held.query, key)) return false;
    const a = held.query[key];
    const b = target.query[key];
    if (typeof a === "string") return a === b;
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((value, i) => value === b[i])
    );
  });
}
