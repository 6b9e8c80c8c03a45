import type { Handshake, SocketSnapshot } from "@regio/protocol";
import { describe, expect, it } from "vitest";
import { shareSessionHandshake, sharedIfEmpty, type SessionHandshake } from "../src/hub/shared-handshake.ts";

const handshake: Handshake = {
  url: "/clients/socketio/hubs/chat/?EIO=4&transport=websocket",
  headers: { "user-agent": "Mozilla/5.0", cookie: "session=abc", "x-many": ["a", "b"] },
  remoteAddress: "127.0.0.1",
  secure: false,
  transport: "websocket",
  protocol: 4,
};
const session: SessionHandshake = { handshake, query: { EIO: "4", transport: "websocket" } };

/** The snapshot as the app server sends it back: the same values, decoded into new objects. */
function snapshotWith(
  headers: Record<string, string | string[]>,
  url = handshake.url,
  query: Record<string, unknown> = { ...session.query },
): SocketSnapshot {
  return {
    id: "s1",
    handshake: {
      headers: structuredClone(headers),
      url,
      time: "Fri Nov 27 2026",
      address: ["127", "0", "0", "1"].join("."),
      xdomain: false,
      secure: false,
      issued: 1,
      query,
      auth: {},
    },
    rooms: [],
    data: { name: "ada" },
  };
}

describe("a snapshot's handshake shares the session's own", () => {
  it("shares the session's headers and URL when the app server sent them back unchanged", () => {
    const snapshot = snapshotWith(handshake.headers);
    expect(snapshot.handshake.headers).not.toBe(handshake.headers);
    const shared = shareSessionHandshake(snapshot, session);
    expect(shared.handshake.headers).toBe(handshake.headers);
    expect(shared.handshake.url).toBe(handshake.url);
    expect(shared.handshake.address).toBe(handshake.remoteAddress);
    expect(shared.handshake.query).toBe(session.query);
    expect(shared).toEqual(snapshot);
  });

  it("keeps the snapshot's query when it is not the session's", () => {
    for (const query of [{ EIO: "4" }, { EIO: "4", transport: "polling" }, { ...session.query, x: "1" }]) {
      const snapshot = snapshotWith(handshake.headers, handshake.url, query);
      const kept = shareSessionHandshake(snapshot, session);
      expect(kept.handshake.query).toBe(snapshot.handshake.query);
      expect(kept.handshake.headers).toBe(handshake.headers);
    }
  });

  it("keeps the snapshot's headers when any differs, is missing or is added", () => {
    const variants: Array<Record<string, string | string[]>> = [
      { ...handshake.headers, cookie: "session=other" },
      { "user-agent": "Mozilla/5.0", cookie: "session=abc" },
      { ...handshake.headers, "x-added": "1" },
      { ...handshake.headers, "x-many": ["a", "c"] },
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
    expect(shared.handshake.url).toBe(handshake.url);
    expect(shared.handshake.headers).toBe(snapshot.handshake.headers);
  });
});

describe("a snapshot's socket id shares the node's string of it", () => {
  it("uses the given id string for the snapshot's id and its own room, and keeps the rest", () => {
    const sid = ["s", "1"].join("");
    const snapshot = { ...snapshotWith(handshake.headers), rooms: ["red", "s1"] };
    const shared = shareSessionHandshake(snapshot, session, sid);
    expect(shared).toEqual(snapshot);
    expect(shared.rooms).toEqual(["red", "s1"]);
    expect(shared.handshake.headers).toBe(handshake.headers);
    const other = shareSessionHandshake(snapshot, session, "s2");
    expect(other.id).toBe("s1");
    expect(other.rooms).toEqual(["red", "s1"]);
  });
});

describe("what many sockets' snapshots say alike is held once", () => {
  it("shares an empty auth and data among snapshots, and keeps any that is not empty", () => {
    const first = shareSessionHandshake({ ...snapshotWith(handshake.headers), data: {} }, session);
    const second = shareSessionHandshake({ ...snapshotWith(handshake.headers), data: {} }, session);
    expect(first.data).toEqual({});
    expect(first.data).toBe(second.data);
    expect(first.handshake.auth).toEqual({});
    expect(first.handshake.auth).toBe(second.handshake.auth);
    // Nothing on the node may write the shared one; the data an app server sends later shares it too.
    expect(Object.isFrozen(first.data)).toBe(true);
    expect(sharedIfEmpty({})).toBe(first.data);
    const named = { name: "ada" };
    expect(sharedIfEmpty(named)).toBe(named);

    const auth = { token: "t" };
    const data = { name: "ada" };
    const own = shareSessionHandshake(
      {
        ...snapshotWith(handshake.headers),
        data,
        handshake: { ...snapshotWith(handshake.headers).handshake, auth },
      },
      session,
    );
    expect(own.data).toBe(data);
    expect(own.handshake.auth).toBe(auth);
    for (const value of [null, "text", 1, [], Object.create(null) as object])
      expect(shareSessionHandshake({ ...snapshotWith(handshake.headers), data: value }, session).data).toBe(
        value,
      );
  });

  // Whether two equal strings are one cannot be seen from JavaScript: this checks the values are kept.
  it("keeps each snapshot's handshake time as sent (shared with the sockets of the same second)", () => {
    const time = (text: string) => ({
      ...snapshotWith(handshake.headers),
      handshake: { ...snapshotWith(handshake.headers).handshake, time: [text].join("") },
    });
    const a = shareSessionHandshake(time("Sat Nov 28 2026 01:30:00 GMT+0000"), session);
    const b = shareSessionHandshake(time("Sat Nov 28 2026 01:30:00 GMT+0000"), session);
    const c = shareSessionHandshake(time("Sat Nov 28 2026 01:30:01 GMT+0000"), session);
    expect(b.handshake.time).toBe("Sat Nov 28 2026 01:30:00 GMT+0000");
    expect(c.handshake.time).toBe("Sat Nov 28 2026 01:30:01 GMT+0000");
    expect(a.handshake.time).toBe(b.handshake.time);
  });
});
