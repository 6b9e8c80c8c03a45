import { describe, expect, it } from "vitest";
import { SocketRooms } from "../src/hub/socket-rooms.ts";

describe("SocketRooms", () => {
  it("behaves as a Set of rooms: membership, size, insertion order, from one room to many and back", () => {
    const rooms = new SocketRooms();
    expect([...rooms]).toEqual([]);
    expect(rooms.delete("s1")).toBe(false);
    rooms.add("s1");
    rooms.add("s1");
    expect([...rooms]).toEqual(["s1"]);
    expect(rooms.size).toBe(1);
    expect(rooms.has("s1")).toBe(true);
    expect(rooms.has("red")).toBe(false);
    rooms.add("red");
    rooms.add("blue");
    rooms.add("red");
    expect([...rooms]).toEqual(["s1", "red", "blue"]);
    expect(rooms.size).toBe(3);
    expect(rooms.delete("s1")).toBe(true);
    expect(rooms.delete("s1")).toBe(false);
    expect([...rooms]).toEqual(["red", "blue"]);
    expect(rooms.has("blue")).toBe(true);
    rooms.delete("red");
    rooms.delete("blue");
    expect([...rooms]).toEqual([]);
    expect(rooms.size).toBe(0);

    const single = new SocketRooms();
    single.add("s2");
    expect(single.delete("s2")).toBe(true);
    expect([...single]).toEqual([]);
    single.add("green");
    expect([...single]).toEqual(["green"]);
  });
});
