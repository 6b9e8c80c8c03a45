import type { Handshake, SocketSnapshot } from "@regio/protocol";
import { describe, expect, it } from "vitest";
import { shareSessionHandshake } from "../src/hub/shared-handshake.ts";

const session: Handshake = {
  url: "/clients/socketio/hubs/chat/?EIO=4&transport=websocket",
  headers: { "user-agent": "Mozilla/5.0", cookie: "session=abc", "x-many": ["a", "b"] },
  remoteAddress: "127.0.0.1",
  secure: false,
  transport: "websocket",
  protocol: 4,
};

/** The snapshot as the app server sends it back: the same values, decoded into new objects. */
function snapshotWith(headers: Record<string, string | string[]>, url = session.url): SocketSnapshot {
  return {
    id: "s1",
    handshake: {
      headers: structuredClone(headers),
      url,
      time: "Fri Nov 27 2026",
      address: "127.0.0.1",
      xdomain: false,
      secure: false,
      issued: 1,
      query: {},
      auth: {},
    },
    rooms: [],
    data: { name: "ada" },
  };
}

describe("a snapshot's handshake shares the session's own", () => {
  it("shares the session's headers and URL when the app server sent them back unchanged", () => {
    const snapshot = snapshotWith(session.headers);
    expect(snapshot.handshake.headers).not.toBe(session.headers);
    const shared = shareSessionHandshake(snapshot, session);
    expect(shared.handshake.headers).toBe(session.headers);
    expect(shared.handshake.url).toBe(session.url);
    expect(shared).toEqual(snapshot);
  });

  it("keeps the snapshot's headers when any differs, is missing or is added", () => {
    const variants: Array<Record<string, string | string[]>> = [
      { ...session.headers, cookie: "session=other" },
      { "user-agent": "Mozilla/5.0", cookie: "session=abc" },
      { ...session.headers, "x-added": "1" },
      { ...session.headers, "x-many": ["a", "c"] },
    ];
    for (const headers of variants) {
      const snapshot = snapshotWith(headers);
      const kept = shareSessionHandshake(snapshot, session);
      expect(kept.handshake.headers).toBe(snapshot.handshake.headers);
      expect(kept.handshake.headers).toEqual(headers);
    }
  });

  it("shares the URL alone when only the URL is the session's", () => {
    const snapshot = snapshotWith({ other: "1" });
    const shared = shareSessionHandshake(snapshot, session);
    expect(shared.handshake.url).toBe(session.url);
    expect(shared.handshake.headers).toBe(snapshot.handshake.headers);
  });
});
