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

describe("MembershipIndex: a socket's own room (named by its id, kept without a list of its own)", () => {
  it("reaches the socket, counts it, and also the sockets that joined a room of that name", () => {
    const index = new MembershipIndex();
    index.join("/", SocketId("a1"), owner("a"), []);
    index.join("/", SocketId("a2"), owner("a"), ["a1"]);
    expect(ids(index, ["a1"])).toEqual(["a1", "a2"]);
    expect(index.roomSize("/", "a1")).toBe(2);
    expect(index.roomSize("/", "a2")).toBe(1);
    expect([...index.select({ ...everyone, except: ["a1"] })]).toEqual([]);
    // Each socket once, though in two target rooms.
    expect(ids(index, ["a1", "a2"])).toEqual(["a1", "a2"]);

    // Its own room cannot be left (as in socket.io); another socket's membership of it can.
    index.leave("/", SocketId("a1"), ["a1"]);
    expect(index.roomSize("/", "a1")).toBe(2);
    index.leave("/", SocketId("a2"), ["a1"]);
    expect(ids(index, ["a1"])).toEqual(["a1"]);

    index.remove("/", SocketId("a1"));
    expect(index.roomSize("/", "a1")).toBe(0);
    expect(ids(index, ["a1"])).toEqual([]);
  });

  it("goes with its socket when the socket's node is suspended, and comes back with it", () => {
    const index = new MembershipIndex();
    index.join("/", SocketId("b1"), owner("b"), ["red"]);
    index.join("/", SocketId("a1"), owner("a"), ["b1"]);
    index.suspendOwnedBy(NodeId("b"));
    expect(ids(index, ["b1"])).toEqual(["a1"]);
    expect(index.roomSize("/", "b1")).toBe(1);
    index.reinstate(NodeId("b"), "i1");
    expect(ids(index, ["b1"])).toEqual(["a1", "b1"]);
    expect(index.roomSize("/", "b1")).toBe(2);
  });
});

describe("MembershipIndex: the owners of the sockets in the view", () => {
  const owners = (index: MembershipIndex) =>
    [...index.owners()].map((o) => `${o.nodeId}/${o.incarnation}`).sort();

  it("lists each node start that owns a socket in the view once, as sockets come, go, are suspended and come back", () => {
    const index = new MembershipIndex();
    expect(owners(index)).toEqual([]);
    index.join("/", SocketId("a1"), owner("a"), []);
    index.join("/chat", SocketId("a2"), owner("a"), ["red"]);
    index.join("/", SocketId("b1"), owner("b", "i1"), []);
    index.join("/", SocketId("b2"), owner("b", "i2"), []);
    // Joining rooms of a known socket adds no owner.
    index.join("/", SocketId("a1"), owner("a"), ["blue"]);
    expect(owners(index)).toEqual(["a/i1", "b/i1", "b/i2"]);

    index.remove("/", SocketId("a1"));
    expect(owners(index)).toEqual(["a/i1", "b/i1", "b/i2"]);
    index.remove("/chat", SocketId("a2"));
    expect(owners(index)).toEqual(["b/i1", "b/i2"]);
    // Removing what is not there changes nothing.
    index.remove("/chat", SocketId("a2"));
    expect(owners(index)).toEqual(["b/i1", "b/i2"]);

    index.suspendOwnedBy(NodeId("b"));
    expect(owners(index)).toEqual([]);
    index.reinstate(NodeId("b"), "i2");
    expect(owners(index)).toEqual(["b/i2"]);

    // Another node announcing a socket as its own takes it over.
    index.replace("/", SocketId("b2"), owner("c"), []);
    expect(owners(index)).toEqual(["c/i1"]);
  });
});
