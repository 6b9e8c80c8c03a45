import { describe, expect, it } from "vitest";
import { createHmac } from "node:crypto";
import { ErrorCode, RegioError, signLinkToken, verifyLinkToken } from "../src/index.ts";

const KEY = "k3y";
const code = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(RegioError);
    return (error as RegioError).code;
  }
  throw new Error("accepted");
};

describe("app-link token", () => {
  const now = Date.UTC(2026, 10, 22, 12);

  it("is a standard HS256 JWT that verifies with the key", () => {
    const token = signLinkToken(KEY, { hub: "chat", sub: "app-1" }, now);
    const [header, payload, signature] = token.split(".") as [string, string, string];
    expect(JSON.parse(Buffer.from(header, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
    expect(createHmac("sha256", KEY).update(`${header}.${payload}`).digest("base64url")).toBe(signature);
    expect(verifyLinkToken(KEY, token, "chat", now)).toEqual({
      hub: "chat",
      sub: "app-1",
      iat: now / 1000,
      exp: now / 1000 + 300,
    });
  });

  it("refuses a wrong key, a tampered payload, another hub, and expiry beyond the skew", () => {
    const token = signLinkToken(KEY, { hub: "chat", sub: "app-1" }, now);
    expect(code(() => verifyLinkToken("other", token, "chat", now))).toBe(ErrorCode.TokenInvalid);
    const [h, , s] = token.split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify({ hub: "chat", sub: "x", iat: 0, exp: 9e9 })).toString("base64url")}.${s}`;
    expect(code(() => verifyLinkToken(KEY, forged, "chat", now))).toBe(ErrorCode.TokenInvalid);
    expect(code(() => verifyLinkToken(KEY, token, "other", now))).toBe(ErrorCode.TokenInvalid);
    expect(verifyLinkToken(KEY, token, "chat", now + 320_000).sub).toBe("app-1");
    expect(code(() => verifyLinkToken(KEY, token, "chat", now + 340_000))).toBe(ErrorCode.TokenExpired);
    expect(code(() => verifyLinkToken(KEY, token, "chat", now - 60_000))).toBe(ErrorCode.TokenExpired);
  });
});
