import type { Handshake, SocketSnapshot } from "@regio/protocol";
import { shareHandshakeTime } from "./shared-strings.ts";

/** What the node itself knows of a session's handshake, to share with its sockets' snapshots. */
export interface SessionHandshake {
  handshake: Handshake;
  /** The query engine.io parsed from the handshake's URL. */
  query: Readonly<Record<string, unknown>>;
}

/**
 * A socket's snapshot comes back from the app server with the handshake the node itself sent it
 * (socket.io builds `socket.handshake` from it): the same headers, URL, address and query, decoded
 * into new strings and objects. Kept as they come, every client of the node would hold them twice.
 * Each part equal to the session's own is shared with it instead; anything else is kept as sent.
 * The handshake's time (one value per second) is shared with the sockets that joined in the same
 * second, and an empty `auth` or `data` (what most clients send, socket.io's default) with all.
 * Equal values only: what the snapshot says is unchanged.
 */
export function shareSessionHandshake(
  snapshot: SocketSnapshot,
  session: SessionHandshake,
  /** The socket's id as the node keeps it: the snapshot's own id, and its own room, share it. */
  sid?: string,
): SocketSnapshot {
  if (sid !== undefined) snapshot = shareSocketId(snapshot, sid);
  const { headers, url, address, query } = snapshot.handshake;
  const own = session.handshake;
  const sameHeaders = sameValues(headers, own.headers);
  const sameUrl = url === own.url;
  const sameAddress = address === own.remoteAddress;
  const sameQuery = sameValues(query, session.query);
  // Always a new handshake object: its time is shared too (strings compare by value, so whether
  // shareHandshakeTime gave another string cannot be told; one object per join is cheap).
  const time = shareHandshakeTime(snapshot.handshake.time);
  return {
    ...snapshot,
    data: sharedIfEmpty(snapshot.data),
    handshake: {
      ...snapshot.handshake,
      time,
      auth: sharedIfEmpty(snapshot.handshake.auth) as Record<string, unknown>,
      headers: sameHeaders ? own.headers : headers,
      url: sameUrl ? own.url : url,
      address: sameAddress ? own.remoteAddress : address,
      query: sameQuery ? (session.query as Record<string, unknown>) : query,
    },
  };
}

/** Same keys, each with the same string (or array of strings). */
function sameValues(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(b, key)) return false;
    const left = a[key];
    const right = b[key];
    if (left === right && (typeof left === "string" || left === undefined)) continue;
    if (!Array.isArray(left) || !Array.isArray(right) || left.length !== right.length) return false;
    if (left.some((value, i) => typeof value !== "string" || value !== right[i])) return false;
  }
  return true;
}

/** The snapshot's id, and its own room in its rooms, as the node's string of the same socket id. */
function shareSocketId(snapshot: SocketSnapshot, sid: string): SocketSnapshot {
  const own = snapshot.rooms.indexOf(sid);
  if (snapshot.id !== sid && own < 0) return snapshot;
  let rooms = snapshot.rooms;
  if (own >= 0) {
    rooms = [...rooms];
    rooms[own] = sid;
  }
  return { ...snapshot, id: snapshot.id === sid ? sid : snapshot.id, rooms };
}

/** One empty object for every snapshot's empty `auth` or `data` (frozen: nothing on the node writes them). */
const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * One empty object shared by all for a plain object without properties (socket.io's default
 * `auth` and `data`), else the value itself: for a snapshot's `auth` and `data`, and the `data` an
 * app server sends when it changes.
 */
export function sharedIfEmpty(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype)
    return value;
  return Reflect.ownKeys(value).length === 0 ? EMPTY : value;
}
