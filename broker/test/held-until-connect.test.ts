import { describe, expect, it } from "vitest";
import { HeldUntilConnect, namespaceOf } from "../src/hub/held-until-connect.ts";
import { preparePacket } from "../src/hub/prepared-packet.ts";

const packet = (text: string) => preparePacket([text], 0, false);

describe("a recovered socket's packets wait for its CONNECT", () => {
  it("reads the namespace of every kind of Socket.IO packet text", () => {
    expect(namespaceOf('2["n",1]')).toBe("/");
    expect(namespaceOf('0{"sid":"a"}')).toBe("/");
    expect(namespaceOf('2/admin,["n",1]')).toBe("/admin");
    expect(namespaceOf('0/admin,{"sid":"a"}')).toBe("/admin");
    expect(namespaceOf("1/admin")).toBe("/admin");
    expect(namespaceOf('51-/admin,["n",{"_placeholder":true,"num":0}]')).toBe("/admin");
    expect(namespaceOf('51-["n",{"_placeholder":true,"num":0}]')).toBe("/");
    expect(namespaceOf('212["a-b"]')).toBe("/");
  });

  it("holds the namespace's packets until its CONNECT, then releases them after it, in order", () => {
    const hold = new HeldUntilConnect();
    hold.hold("/admin");
    const events = [packet('2/admin,["n",1]'), packet('2/admin,["n",2]')];
    for (const event of events) expect(hold.take(event)).toEqual({ kind: "held" });
    expect(hold.take(packet('2["other"]'))).toEqual({ kind: "write" });
    expect(hold.bytes).toBe(events[0]!.bytes + events[1]!.bytes);
    const answer = hold.take(packet('0/admin,{"sid":"a","pid":"p"}'));
    expect(answer).toEqual({ kind: "answer", release: events });
    expect(hold.isEmpty).toBe(true);
    expect(hold.bytes).toBe(0);
    expect(hold.take(packet('2/admin,["n",3]'))).toEqual({ kind: "write" });
  });

  it("drops what it held on CONNECT_ERROR: the client was given none of it", () => {
    const hold = new HeldUntilConnect();
    hold.hold("/");
    expect(hold.take(packet('2["n",1]'))).toEqual({ kind: "held" });
    expect(hold.take(packet('4{"message":"refused"}'))).toEqual({ kind: "answer", release: [] });
    expect(hold.isEmpty).toBe(true);
  });
});
