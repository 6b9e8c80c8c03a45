import { describe, expect, it } from "vitest";
import { Decoder, Encoder } from "@msgpack/msgpack";
import {
  decodeMessage,
  encodeMessage,
  ErrorCode,
  MessageType,
  RegioError,
  SessionId,
  type Message,
  type SessionMessage,
  type SessionMessages,
  type SessionSend,
} from "../src/index.ts";
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

/** The message with each binary as a plain array of its bytes. */
function bytesAsArrays(message: Message): unknown {
  const plain = (part: unknown) => (part instanceof Uint8Array ? Array.from(part) : part);
  const { data } = message as { data?: unknown };
  return { ...message, data: Array.isArray(data) ? data.map(plain) : plain(data) };
}

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

  it("writes SessionMessage and SessionSend straight from their fields: the general encoder's bytes, read back as sent", () => {
    const sessionId = SessionId("Ab3_-x.node-1");
    const messages: (SessionMessage | SessionSend)[] = [
      ...[...strings, ...binaries].map((data): SessionMessage => ({
        type: MessageType.SessionMessage,
        sessionId,
        data,
      })),
      ...lists.map((data): SessionSend => ({ type: MessageType.SessionSend, sessionId, data, flags: 1 })),
      ...integers.flatMap((n): SessionSend[] => [
        { type: MessageType.SessionSend, sessionId, data: ["2[]"], flags: n },
        { type: MessageType.SessionSend, sessionId, data: ["2[]", binaries[2]!], flags: 3, after: n },
      ]),
      { type: MessageType.SessionMessage, sessionId: SessionId("é".repeat(40)), data: "4" },
    ];
    for (const message of messages) {
      const row: unknown[] =
        message.type === MessageType.SessionMessage
          ? [message.type, message.sessionId, message.data]
          : [message.type, message.sessionId, message.data, message.flags];
      if (message.type === MessageType.SessionSend && message.after !== undefined)
        row.push(null, message.after);
      const frame = encodeMessage(message);
      expect(Buffer.from(frame).equals(Buffer.from(general.encoder.encode(row)))).toBe(true);
      const decoded = decodeMessage(frame);
      // (Binaries come back as views of the frame, as the general decoder's: compared by their bytes.)
      expect(bytesAsArrays(decoded)).toEqual(bytesAsArrays(message));
      // No field the message did not have (an absent `after` is absent, not undefined).
      expect(Object.keys(decoded)).toEqual(Object.keys(message));
    }
  });

  it("refuses a bad session data row read natively with the general validation's reason", () => {
    const refusals: [unknown[], string][] = [
      [[MessageType.SessionSend, "sid", [], 0], "field data is not a valid payload[]"],
      [[MessageType.SessionSend, "sid", ["2"], "1"], "field flags is not a valid int"],
      [[MessageType.SessionSend, "sid", ["2"], 0, null, "1"], "field after is not a valid int"],
      [[MessageType.SessionSend, "sid", ["2"], 0, "trace"], "field trace is not a valid trace"],
      [[MessageType.SessionSend, "sid", [7], 0], "field data is not a valid payload[]"],
      [[MessageType.SessionSend, "sid", ["2"]], "field flags is missing"],
      [[MessageType.SessionMessage, "sid", 7], "field data is not a valid payload"],
      [[MessageType.SessionMessage, "sid", "4", null, 1], "too many fields"],
      [[MessageType.SessionMessages, []], "field messages is not a valid session-pairs"],
      [[MessageType.SessionMessages, ["sid"]], "field messages is not a valid session-pairs"],
      [[MessageType.SessionMessages, [7, "4"]], "field messages is not a valid session-pairs"],
      [
        [MessageType.SessionMessages, ["sid", "4", "sid", null]],
        "field messages is not a valid session-pairs",
      ],
    ];
    for (const [row, reason] of refusals) {
      const frame = general.encoder.encode(row);
      expect(decodeSessionRow(frame), JSON.stringify(row)).toBeDefined();
      expect(() => decodeMessage(frame), JSON.stringify(row)).toThrowError(
        expect.objectContaining({ code: ErrorCode.BadFrame, message: expect.stringContaining(reason) }),
      );
    }
  });

  it("writes SessionMessages (pairs of session id and data) as the general encoder does, read back as sent", () => {
    const pairs = [...strings.slice(0, 9), ...binaries].flatMap((data, i) => [SessionId(`s${i}`), data]);
    for (const messages of [pairs.slice(0, 2), pairs.slice(0, 16), pairs]) {
      const message: SessionMessages = { type: MessageType.SessionMessages, messages };
      const frame = encodeMessage(message);
      const row = [MessageType.SessionMessages, messages];
      expect(Buffer.from(frame).equals(Buffer.from(general.encoder.encode(row)))).toBe(true);
      const decoded = decodeMessage(frame) as SessionMessages;
      expect(decoded.messages.map((m) => (m instanceof Uint8Array ? Array.from(m) : m))).toEqual(
        messages.map((m) => (m instanceof Uint8Array ? Array.from(m) : m)),
      );
    }
  });
});
