import { describe, expect, it } from "vitest";
import { SharedStrings, shareHeaderValues } from "../src/hub/shared-strings.ts";

describe("SharedStrings", () => {
  it("gives back equal strings, holds at most its bound, and none longer than its limit", () => {
    const strings = new SharedStrings(3, 10);
    for (const value of ["a", "b", "c", "a", "b"]) expect(strings.share([value].join(""))).toBe(value);
    expect(strings.size).toBe(3);
    // Full: it starts over rather than grow, whatever clients send.
    for (let i = 0; i < 100; i++) expect(strings.share(`v${i}`)).toBe(`v${i}`);
    expect(strings.size).toBeLessThanOrEqual(3);
    expect(strings.share("x".repeat(11))).toBe("x".repeat(11));
    expect(strings.size).toBeLessThanOrEqual(3);
  });
});

describe("shareHeaderValues", () => {
  it("keeps every header and value as they are (names, arrays, the client's own values)", () => {
    const headers: Record<string, string | string[] | undefined> = {
      "user-agent": "Mozilla/5.0 (X11; Linux x86_64)",
      "accept-language": "en-US,en;q=0.9",
      cookie: "session=abc",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "x-many": ["a", "b"],
      host: "x".repeat(600),
    };
    const before = structuredClone(headers);
    shareHeaderValues(headers);
    expect(headers).toEqual(before);
    expect(Object.keys(headers)).toEqual(Object.keys(before));
  });
});
