import { describe, expect, it } from "vitest";
import { Decoder, Encoder } from "@msgpack/msgpack";
import { decodeMessage, encodeMessage, ErrorCode, MessageType, RegioError, SessionId } from "../src/index.ts";
import { decodeSessionRow, encodeSessionRow } from "../src/session-frames.ts";

/**
 * Session data frames are written and read without @msgpack/msgpack (session-frames.ts): the bytes
 * must be exactly the general encoder's, and what is read exactly the general decoder's, at every
 * size boundary of every format they use.
 */
const general = { encoder: new Encoder({ ignoreUndefined: true }), decoder: new Decoder() };

const strings = [0, 1, 31, 32, 255, 256, 65_535, 65_536].flatMap((n) => [
  "x".repeat(n),
  // Multi-byte characters: the header counts bytes, not characters.
  "é".repeat(Math.ceil(n / 2)),
  "€🙂".repeat(Math.ceil(n / 7)),
]);
const binaries = [0, 1, 255, 256, 65_535, 65_536].map((n) => new Uint8Array(n).fill(7));
const integers = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 0xffffffff];
const lists = [1, 15, 16, 300].map((n) =>
  Array.from({ length: n }, (_, i) => (i % 2 ? `4${i}` : binaries[1]!)),
);

const rows: unknown[][] = [
  ...strings.map((s) => [MessageType.SessionMessage, "sid", s]),
  ...binaries.map((b) => [MessageType.SessionMessage, "sid", b]),
  ...integers.map((n) => [MessageType.SessionSend, "sid", ["2[]"], n, null, n]),
  ...lists.map((list) => [MessageType.SessionSend, "sid", list, 1]),
];

describe("session data frames", () => {
  it.each(rows.map((row, i) => [i, row] as const))(
    "row %i: the general encoder's bytes, read back alike",
    (_, row) => {
      const expected = general.encoder.encode(row);
      const written = encodeSessionRow(row)!;
      expect(Buffer.from(written).equals(Buffer.from(expected))).toBe(true);
      expect(decodeSessionRow(written)).toEqual(general.decoder.decode(written));
      expect(decodeSessionRow(expected)).toEqual(general.decoder.decode(expected));
    },
  );

  it("leaves what it does not write to the general encoder: maps, floats, large and negative numbers", () => {
    expect(
      encodeSessionRow([MessageType.SessionSend, "sid", ["2"], 0, { traceparent: "t" }]),
    ).toBeUndefined();
    expect(encodeSessionRow([MessageType.SessionSend, "sid", ["2"], 1.5])).toBeUndefined();
    expect(encodeSessionRow([MessageType.SessionSend, "sid", ["2"], 2 ** 32])).toBeUndefined();
    expect(encodeSessionRow([MessageType.SessionSend, "sid", ["2"], -1])).toBeUndefined();
  });

  it("leaves to the general decoder what it does not read, and a bad frame is still refused", () => {
    const traced = encodeMessage({
      type: MessageType.SessionMessage,
      sessionId: SessionId("s1"),
      data: "4hi",
      trace: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    });
    expect(decodeSessionRow(traced)).toBeUndefined();
    expect(decodeMessage(traced)).toMatchObject({ type: MessageType.SessionMessage, data: "4hi" });
    const frame = encodeMessage({
      type: MessageType.SessionMessage,
      sessionId: SessionId("s1"),
      data: "4hello",
    });
    for (let cut = 1; cut < frame.length; cut++) {
      expect(decodeSessionRow(frame.subarray(0, cut))).toBeUndefined();
      expect(() => decodeMessage(frame.subarray(0, cut))).toThrow(RegioError);
    }
    const extra = Buffer.concat([frame, Buffer.from([0xc0])]);
    expect(decodeSessionRow(extra)).toBeUndefined();
    expect(() => decodeMessage(extra)).toThrowError(expect.objectContaining({ code: ErrorCode.BadFrame }));
    // A session frame whose field has the wrong kind is read here and refused by the validation.
    const wrong = general.encoder.encode([MessageType.SessionMessage, 42, "4hi"]);
    expect(() => decodeMessage(wrong)).toThrowError(expect.objectContaining({ code: ErrorCode.BadFrame }));
  });
});
