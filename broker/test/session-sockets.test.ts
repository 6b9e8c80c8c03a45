import type { SocketId } from "@regio/protocol";
import { describe, expect, it } from "vitest";
import { SessionSockets } from "../src/hub/client-session.ts";

describe("SessionSockets", () => {
  it("holds one socket per namespace, replaced by a later one, in the order namespaces came", () => {
    const sockets = new SessionSockets();
    const id = (value: string) => value as SocketId;
    expect([...sockets]).toEqual([]);
    expect(sockets.size).toBe(0);
    sockets.add("/", id("a"));
    expect([...sockets]).toEqual([["/", "a"]]);
    sockets.add("/", id("b"));
    expect([...sockets]).toEqual([["/", "b"]]);
    sockets.add("/admin", id("c"));
    sockets.add("/chat", id("d"));
    sockets.add("/admin", id("e"));
    expect([...sockets]).toEqual([
      ["/", "b"],
      ["/admin", "e"],
      ["/chat", "d"],
    ]);
    expect(sockets.size).toBe(3);
  });
});
