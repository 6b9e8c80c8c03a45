import { describe, expect, it } from "vitest";
import { RecordSigner, SIGNATURE_HEADER } from "../src/replication/kafka/record-signature.ts";

const message = () => ({
  key: Buffer.from("app1"),
  value: Buffer.from("payload"),
  headers: { "regio-hub": "chat", "regio-seq": "7", traceparent: "00-abc" } as Record<
    string,
    Buffer | string
  >,
});

/** Headers as kafkajs hands them to a consumer: every value a Buffer. */
const received = (headers: Record<string, Buffer | string> = {}) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]));

describe("RecordSigner", () => {
  const signer = new RecordSigner(["key-1"]);

  it("verifies what it signed, tombstones included", () => {
    const signed = signer.sign("events", message());
    expect(signed.headers![SIGNATURE_HEADER]).toHaveLength(32);
    expect(signer.verify("events", signed.key, signed.value, received(signed.headers))).toBe(true);
    const tombstone = signer.sign("nodes", { key: Buffer.from("n1"), value: null });
    expect(signer.verify("nodes", tombstone.key, null, received(tombstone.headers))).toBe(true);
    // A tombstone is not an empty value.
    expect(signer.verify("nodes", tombstone.key, Buffer.alloc(0), received(tombstone.headers))).toBe(false);
  });

  it("refuses a change to the key, the value, a regio header, or the kind; other headers are free", () => {
    const signed = signer.sign("events", message());
    const headers = received(signed.headers);
    expect(signer.verify("events", Buffer.from("app2"), signed.value, headers)).toBe(false);
    expect(signer.verify("events", signed.key, Buffer.from("payloaD"), headers)).toBe(false);
    expect(
      signer.verify("events", signed.key, signed.value, { ...headers, "regio-seq": Buffer.from("8") }),
    ).toBe(false);
    expect(
      signer.verify("events", signed.key, signed.value, { ...headers, "regio-extra": Buffer.from("x") }),
    ).toBe(false);
    expect(signer.verify("membership", signed.key, signed.value, headers)).toBe(false);
    expect(
      signer.verify("events", signed.key, signed.value, { ...headers, traceparent: Buffer.from("00-x") }),
    ).toBe(true);
  });

  it("refuses unsigned, wrongly signed and malformed records", () => {
    const m = message();
    expect(signer.verify("events", m.key, m.value, received(m.headers))).toBe(false);
    const stranger = new RecordSigner(["other-key"]).sign("events", message());
    expect(signer.verify("events", stranger.key, stranger.value, received(stranger.headers))).toBe(false);
    const signed = received(signer.sign("events", message()).headers);
    const repeated = { ...signed, "regio-seq": [Buffer.from("7"), Buffer.from("7")] };
    expect(signer.verify("events", m.key, m.value, repeated)).toBe(false);
    expect(signer.verify("events", null, m.value, signed)).toBe(false);
  });

  it("signs with the first key and verifies with any (key rotation)", () => {
    const old = new RecordSigner(["old"]);
    const rotating = new RecordSigner(["new", "old"]);
    const fromOld = old.sign("events", message());
    const fromRotating = rotating.sign("events", message());
    expect(rotating.verify("events", fromOld.key, fromOld.value, received(fromOld.headers))).toBe(true);
    expect(
      new RecordSigner(["new"]).verify(
        "events",
        fromRotating.key,
        fromRotating.value,
        received(fromRotating.headers),
      ),
    ).toBe(true);
    expect(old.verify("events", fromRotating.key, fromRotating.value, received(fromRotating.headers))).toBe(
      false,
    );
  });
});
