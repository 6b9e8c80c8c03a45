import { describe, expect, it } from "vitest";
import { SharedStrings, shareHeaderValues, shareRequestParts } from "../src/hub/shared-strings.ts";

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

describe("shareRequestParts", () => {
  const request = (url: string, query: Record<string, unknown>) => ({
    url: [url].join(""),
    headers: { "user-agent": "Mozilla/5.0", cookie: "a=b" },
    secure: false,
    query,
  });

  it("gives requests with an equal URL one URL and query, with the same values", () => {
    const url = "/socket.io/?EIO=4&transport=websocket&shared=1";
    const first = shareRequestParts(request(url, { EIO: "4", transport: "websocket", shared: "1" }));
    const second = shareRequestParts(request(url, { EIO: "4", transport: "websocket", shared: "1" }));
    expect(second.query).toBe(first.query);
    expect(second).toEqual(request(url, { EIO: "4", transport: "websocket", shared: "1" }));
  });

  it("keeps a request's own query when it is not the one held for its URL, and long URLs as they are", () => {
    const url = "/socket.io/?EIO=4&transport=websocket&other=1";
    shareRequestParts(request(url, { EIO: "4", transport: "websocket", other: "1" }));
    const odd = { EIO: "4", transport: "websocket", other: "2" };
    expect(shareRequestParts(request(url, odd)).query).toBe(odd);
    const long = `/socket.io/?EIO=4&token=${"t".repeat(600)}`;
    const longQuery = { EIO: "4", token: "t".repeat(600) };
    shareRequestParts(request(long, { ...longQuery }));
    const kept = shareRequestParts(request(long, longQuery));
    expect(kept.query).toBe(longQuery);
    expect(kept.url).toBe(long);
  });
});
