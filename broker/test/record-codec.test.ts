import { encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { AppServerId, NodeId, SessionId, SocketId } from "@regio/protocol";
import {
  decodeHeartbeat,
  decodeMembership,
  encodeHeartbeat,
  encodeMembership,
} from "../src/replication/kafka/record-codec.ts";
import type { MembershipRecord, NodeHeartbeat } from "../src/replication/replicator.ts";

const member: MembershipRecord = {
  hub: "chat",
  nsp: "/",
  sid: SocketId("k1"),
  owner: {
    region: "eastus",
    nodeId: NodeId("n1"),
    incarnation: "i1",
    sessionId: SessionId("s1"),
    linkId: "l1",
  },
  rooms: ["k1", "red"],
  snapshot: {
    id: "k1",
    rooms: ["k1", "red"],
    data: { name: "ada" },
    handshake: {
      headers: {},
      time: "",
      address: "",
      xdomain: false,
      secure: false,
      issued: 0,
      url: "/",
      query: {},
      auth: {},
    },
  },
};
const beat: NodeHeartbeat = {
  nodeId: NodeId("n1"),
  incarnation: "i1",
  region: "eastus",
  url: "http://127.0.0.1:7400",
  appServers: { chat: [AppServerId("app1")] },
  sessions: 3,
  at: 1,
};

describe("Kafka record codec", () => {
  it("round-trips membership records, tombstones (with their owner) and heartbeats", () => {
    const m = encodeMembership(member);
    expect(decodeMembership(m.key, m.value, m.headers)).toEqual(member);
    const gone = encodeMembership({ ...member, rooms: [], snapshot: undefined });
    expect(gone.value).toBeNull();
    expect(decodeMembership(gone.key, gone.value, gone.headers)).toMatchObject({
      sid: "k1",
      snapshot: undefined,
      owner: { nodeId: "n1", region: "eastus" },
    });
    const h = encodeHeartbeat(beat);
    expect(decodeHeartbeat(h.key, h.value)).toEqual(beat);
    // A goodbye is a tombstone that still says which start of the node leaves, and when.
    const bye = encodeHeartbeat({ ...beat, at: 5, leaving: true });
    expect(bye.value).toBeNull();
    expect(decodeHeartbeat(bye.key, bye.value, bye.headers)).toMatchObject({
      nodeId: "n1",
      incarnation: "i1",
      at: 5,
      leaving: true,
    });
    expect(decodeHeartbeat(bye.key, null, {})).toBeUndefined();
  });

  it("skips values of the wrong shape instead of applying them", () => {
    const key = Buffer.from("chat\u0000/\u0000k1");
    const bad = (v: unknown) => Buffer.from(encode(v));
    expect(decodeMembership(key, bad({ ...member, rooms: "red" }))).toBeUndefined();
    expect(decodeMembership(key, bad({ ...member, owner: { nodeId: 1 } }))).toBeUndefined();
    expect(decodeMembership(key, bad("not a record"))).toBeUndefined();
    expect(decodeHeartbeat(Buffer.from("n1"), bad({ ...beat, appServers: { chat: [1] } }))).toBeUndefined();
    expect(decodeHeartbeat(Buffer.from("n1"), bad({ ...beat, at: "now" }))).toBeUndefined();
  });
});
