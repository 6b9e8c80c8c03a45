import type { SnapshotHandshake, SocketSnapshot } from "./messages.ts";

/**
 * Bounds on what a socket's snapshot may carry into the replicated view. A client controls its
 * handshake (`auth`, `query`, headers) and the app controls `socket.data`; neither may make a
 * membership record larger than the log takes, nor deeper than MessagePack encodes (its encoder
 * throws past 100 levels). The SDK applies these before it encodes; the node applies them again to
 * what it receives (an app link is authenticated, not trusted to be bug-free).
 */
export interface SnapshotBounds {
  /** Nesting depth of `auth`, `query` and `data`. */
  maxDepth: number;
  /** Bytes of all headers together; headers past the budget are left out. */
  headerBytes: number;
  /** Bytes of `auth` and of `query`, each; past it the field is `{}`. */
  authBytes: number;
  /** Bytes of `socket.data`; past it (or when it cannot be carried) it is left out. */
  dataBytes: number;
}

export const DEFAULT_SNAPSHOT_BOUNDS: SnapshotBounds = {
  maxDepth: 16,
  headerBytes: 16 * 1024,
  authBytes: 8 * 1024,
  dataBytes: 64 * 1024,
};

/** Longest URL kept (Node's own HTTP parser refuses request heads past 16 KiB). */
const MAX_URL_LENGTH = 8 * 1024;

/**
 * A plain copy of `value` that MessagePack can carry, or `undefined` when it is deeper or larger than
 * the bounds. As JSON does, functions, symbols and undefined members are left out, and class
 * instances are copied as their own enumerable fields. A cycle is deeper than any bound.
 */
export function boundedValue(value: unknown, maxDepth: number, maxBytes: number): unknown {
  const budget = { bytes: maxBytes };
  try {
    return copy(value, maxDepth, budget);
  } catch (error) {
    if (error === OUT_OF_BOUNDS) return undefined;
    throw error;
  }
}

const OUT_OF_BOUNDS = Symbol("out of bounds");

function spend(budget: { bytes: number }, bytes: number): void {
  budget.bytes -= bytes;
  if (budget.bytes < 0) throw OUT_OF_BOUNDS;
}

function copy(value: unknown, depth: number, budget: { bytes: number }): unknown {
  switch (typeof value) {
    case "string":
      spend(budget, value.length * 3 + 5); // UTF-8 worst case, without measuring
      return value;
    case "number":
    case "boolean":
      spend(budget, 9);
      return value;
    case "undefined":
    case "function":
    case "symbol":
    case "bigint":
      return undefined;
  }
  if (value === null) {
    spend(budget, 1);
    return null;
  }
  if (value instanceof Uint8Array) {
    spend(budget, value.byteLength + 5);
    return value;
  }
  if (value instanceof Date) {
    spend(budget, 15);
    return value;
  }
  if (depth <= 0) throw OUT_OF_BOUNDS;
  if (Array.isArray(value)) {
    spend(budget, 5);
    return value.map((item) => copy(item, depth - 1, budget) ?? null);
  }
  spend(budget, 5);
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(value as object)) {
    const item = copy((value as Record<string, unknown>)[key], depth - 1, budget);
    if (item === undefined) continue;
    spend(budget, key.length * 3 + 5);
    result[key] = item;
  }
  return result;
}

/** Headers in their order until the budget is spent; string values only, as Node gives them. */
export function boundedHeaders(
  headers: Record<string, unknown>,
  maxBytes: number,
): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  let left = maxBytes;
  for (const [name, value] of Object.entries(headers)) {
    const text = typeof value === "string" ? value : undefined;
    const list = Array.isArray(value) && value.every((v) => typeof v === "string") ? value : undefined;
    if (text === undefined && list === undefined) continue;
    const bytes = name.length + (text?.length ?? list!.reduce((n, v) => n + v.length + 2, 0)) + 4;
    if (bytes > left) continue;
    left -= bytes;
    result[name] = (text ?? list)!;
  }
  return result;
}

/** socket.handshake as it may enter the view. */
export function boundedHandshake(
  handshake: Partial<SnapshotHandshake> & Record<string, unknown>,
  bounds: SnapshotBounds = DEFAULT_SNAPSHOT_BOUNDS,
): SnapshotHandshake {
  const record = (value: unknown): Record<string, unknown> => {
    const copied = boundedValue(value ?? {}, bounds.maxDepth, bounds.authBytes);
    return typeof copied === "object" && copied !== null && !Array.isArray(copied)
      ? (copied as Record<string, unknown>)
      : {};
  };
  const text = (value: unknown, max: number): string =>
    typeof value === "string" ? value.slice(0, max) : "";
  const headers = handshake.headers;
  return {
    headers:
      typeof headers === "object" && headers !== null ? boundedHeaders(headers, bounds.headerBytes) : {},
    time: text(handshake.time, 64),
    address: text(handshake.address, 128),
    xdomain: handshake.xdomain === true,
    secure: handshake.secure === true,
    issued: typeof handshake.issued === "number" ? handshake.issued : 0,
    url: text(handshake.url, MAX_URL_LENGTH),
    query: record(handshake.query),
    auth: record(handshake.auth),
  };
}

/** A socket's snapshot with every part bounded. */
export function boundedSnapshot(
  snapshot: { id: string; handshake: object; rooms: string[]; data: unknown },
  bounds: SnapshotBounds = DEFAULT_SNAPSHOT_BOUNDS,
): SocketSnapshot {
  return {
    id: snapshot.id,
    handshake: boundedHandshake(snapshot.handshake as Record<string, unknown>, bounds),
    rooms: snapshot.rooms,
    data: boundedValue(snapshot.data, bounds.maxDepth, bounds.dataBytes),
  };
}
