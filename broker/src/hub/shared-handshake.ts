import type { Handshake, SocketSnapshot } from "@regio/protocol";

/**
 * A socket's snapshot comes back from the app server with the handshake the node itself sent it
 * (socket.io builds `socket.handshake` from it): the same headers and URL, decoded into new strings.
 * Kept as they come, every client of the node would hold its headers twice. When they are the
 * session's own, the snapshot shares the session's objects instead; anything else is kept as sent.
 */
export function shareSessionHandshake(snapshot: SocketSnapshot, session: Handshake): SocketSnapshot {
  const { headers, url } = snapshot.handshake;
  const sameHeaders = sameStrings(headers, session.headers);
  const sameUrl = url === session.url;
  if (!sameHeaders && !sameUrl) return snapshot;
  return {
    ...snapshot,
    handshake: {
      ...snapshot.handshake,
      headers: sameHeaders ? session.headers : headers,
      url: sameUrl ? session.url : url,
    },
  };
}

function sameStrings(a: Record<string, string | string[]>, b: Record<string, string | string[]>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    const left = a[key];
    const right = b[key];
    if (left === right) continue;
    if (!Array.isArray(left) || !Array.isArray(right) || left.length !== right.length) return false;
    if (left.some((value, i) => value !== right[i])) return false;
  }
  return true;
}
