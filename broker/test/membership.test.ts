import { describe, expect, it } from "vitest";
import { NodeId, SessionId, SocketId } from "@regio/protocol";
import { MembershipIndex, type SocketOwner } from "../src/hub/membership.ts";

const owner = (nodeId: string, incarnation = "i1"): SocketOwner => ({
  region: "eastus",
  nodeId: NodeId(nodeId),
  incarnation,
  sessionId: SessionId("s"),
  linkId: "l",
});
const everyone = { nsp: "/", rooms: [], except: [] };
const ids = (index: MembershipIndex, rooms: string[] = []) =>
  [...index.select({ ...everyone, rooms })].map((entry) => entry.sid).sort();

describe("MembershipIndex: sockets of a node that was declared gone", () => {
  it("takes them out of every room and target, and puts them back as they were when the same start is heard again", () => {
    const index = new MembershipIndex();
    index.join("/", SocketId("a1"), owner("a"), ["red"]);
    index.join("/", SocketId("b1"), owner("b"), ["red", "blue"]);
    index.join("/", SocketId("b2"), owner("b"), []);
    expect(index.suspendOwnedBy(NodeId("b"))).toBe(2);
    expect(ids(index)).toEqual(["a1"]);
    index.remove("/", SocketId("a1"));
    // Nothing in the view, but the hub must stay: b's sockets may come back.
    expect(index.isEmpty).toBe(false);
    index.join("/", SocketId("a1"), owner("a"), ["red"]);
    expect(ids(index, ["blue"])).toEqual([]);
    expect(index.roomSize("/", "red")).toBe(1);

    expect(index.reinstate(NodeId("b"), "i1")).toBe(2);
    expect(ids(index)).toEqual(["a1", "b1", "b2"]);
    expect(ids(index, ["blue"])).toEqual(["b1"]);
    expect(index.roomSize("/", "red")).toBe(2);
    expect([...index.get("/", SocketId("b1"))!.rooms].sort()).toEqual(["b1", "blue", "red"]);
  });

  it("drops them when the node comes back as another start, or after the bound", () => {
    const index = new MembershipIndex();
    index.join("/", SocketId("b1"), owner("b", "i1"), []);
    index.suspendOwnedBy(NodeId("b"));
    expect(index.reinstate(NodeId("b"), "i2")).toBe(0);
    expect(index.reinstate(NodeId("b"), "i1")).toBe(0);
    expect(ids(index)).toEqual([]);

    index.join("/", SocketId("c1"), owner("c"), []);
    index.suspendOwnedBy(NodeId("c"));
    expect(index.discardSuspended(Date.now() + 1)).toBe(1);
    expect(index.reinstate(NodeId("c"), "i1")).toBe(0);
  });

  it("does not bring back a socket that left while suspended, nor overwrite one announced again", () => {
    const index = new MembershipIndex();
    index.join("/", SocketId("b1"), owner("b"), ["red"]);
    index.join("/", SocketId("b2"), owner("b"), ["red"]);
    index.suspendOwnedBy(NodeId("b"));
    index.remove("/", SocketId("b1")); // its tombstone arrived meanwhile
    index.replace("/", SocketId("b2"), owner("b"), ["blue"]); // its newer entry arrived before the heartbeat
    expect(index.reinstate(NodeId("b"), "i1")).toBe(0);
    expect(ids(index)).toEqual(["b2"]);
    expect(ids(index, ["red"])).toEqual([]);
    expect(ids(index, ["blue"])).toEqual(["b2"]);
  });
});
