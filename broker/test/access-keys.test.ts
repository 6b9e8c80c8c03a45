import { describe, expect, it } from "vitest";
import { startBroker } from "../src/broker.ts";
import { ConfigError } from "../src/config.ts";
import { MIN_ACCESS_KEY_BYTES, weakAccessKey } from "../src/access-keys.ts";

describe("access keys", () => {
  it("takes keys of 32 bytes or more, counted in UTF-8 bytes, and says which key is short without showing it", () => {
    expect(MIN_ACCESS_KEY_BYTES).toBe(32);
    expect(weakAccessKey(["a".repeat(32)])).toBeUndefined();
    expect(weakAccessKey(["é".repeat(16)])).toBeUndefined();
    expect(weakAccessKey(["a".repeat(31)])).toBe(
      "the key has 31 bytes; an access key needs at least 32 (make one with: openssl rand -hex 32)",
    );
    const second = weakAccessKey(["a".repeat(40), "secret"]);
    expect(second).toMatch(/^key 2 of 2 has 6 bytes;/);
    expect(second).not.toContain("secret");
  });

  it("is refused by startBroker too, before it listens", async () => {
    await expect(startBroker({ accessKey: "short", port: 0 })).rejects.toThrow(ConfigError);
    await expect(startBroker({ accessKey: `${"a".repeat(32)},short`, port: 0 })).rejects.toThrow(
      /key 2 of 2 has 5 bytes/,
    );
  });
});
