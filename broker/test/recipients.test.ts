import { describe, expect, it } from "vitest";
import { NodeId, SessionId, SocketId } from "@regio/protocol";
import type { ClientSession } from "../src/hub/client-session.ts";
import { MembershipIndex, type SocketOwner } from "../src/hub/membership.ts";
import { Recipients } from "../src/hub/recipients.ts";

const here = NodeId("here");
const owner = (session: string, nodeId = here, linkId = "l1"): SocketOwner => ({
  region: "eastus",
  nodeId,
  incarnation: "i1",
  sessionId: SessionId(session),
  linkId,
});
const sessionsOf = (...ids: string[]) =>
  new Map(ids.map((id) => [SessionId(id), { id } as unknown as ClientSession]));
const to = (rooms: string[], except: string[] = [], local = false) => ({ nsp: "/", rooms, except, local });
const names = (list: ReturnType<Recipients["of"]>) => list.items.map((r) => r.entry.sid).sort();

describe("Recipients", () => {
  it("lists this node's sessions a target reaches once, and again after the view changes", () => {
    const index = new MembershipIndex();
    const sessions = sessionsOf("s1", "s2", "s3");
    index.join("/", SocketId("a"), owner("s1"), ["red"]);
    index.join("/", SocketId("b"), owner("s2"), ["red", "blue"]);
    index.join("/", SocketId("elsewhere"), owner("x", NodeId("other")), ["red"]);
    const recipients = new Recipients(index, sessions, here);
    const red = recipients.of(to(["red"]), undefined);
    expect(names(red)).toEqual(["a", "b"]);
    expect(recipients.of(to(["red"]), undefined)).toBe(red);
    expect(names(recipients.of(to([], ["blue"]), undefined))).toEqual(["a"]);
    index.join("/", SocketId("c"), owner("s3"), ["red"]);
    expect(names(recipients.of(to(["red"]), undefined))).toEqual(["a", "b", "c"]);
    index.leave("/", SocketId("a"), ["red"]);
    expect(names(recipients.of(to(["red"]), undefined))).toEqual(["b", "c"]);
  });

  it("keeps `local` to the origin link's sockets", () => {
    const index = new MembershipIndex();
    index.join("/", SocketId("a"), owner("s1", here, "l1"), []);
    index.join("/", SocketId("b"), owner("s2", here, "l2"), []);
    const recipients = new Recipients(index, sessionsOf("s1", "s2"), here);
    expect(names(recipients.of(to([], [], true), "l2"))).toEqual(["b"]);
    expect(names(recipients.of(to([], [], true), undefined))).toEqual([]);
    expect(names(recipients.of(to([]), "l2"))).toEqual(["a", "b"]);
  });
});
