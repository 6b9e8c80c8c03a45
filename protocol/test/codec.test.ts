import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { encode } from "@msgpack/msgpack";
import {
  decodeMessage,
  encodeMessage,
  ErrorCode,
  MESSAGE_FIELDS,
  MessageType,
  RegioError,
  SessionId,
  SocketId,
} from "../src/index.ts";
import { samples } from "./samples.ts";

const fixtures = JSON.parse(readFileSync(new URL("./fixtures.json", import.meta.url), "utf8")) as Record<
  string,
  string
>;

describe("app-link codec", () => {
  it("has a sample and a golden fixture for every message type", () => {
    const sampled = new Set(Object.values(samples).map((m) => m.type));
    expect([...sampled].sort((a, b) => a - b)).toEqual(Object.values(MessageType).sort((a, b) => a - b));
    expect(Object.keys(fixtures).sort()).toEqual(Object.keys(samples).sort());
  });

  it.each(Object.entries(samples))("round-trips %s byte for byte", (name, message) => {
    const golden = new Uint8Array(Buffer.from(fixtures[name]!, "hex"));
    expect(Buffer.from(encodeMessage(message)).toString("hex")).toBe(fixtures[name]);
    expect(decodeMessage(golden)).toEqual(message);
  });

  it("never reuses a message number", () => {
    const numbers = Object.values(MessageType);
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(
      Object.keys(MESSAGE_FIELDS)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual([...numbers].sort((a, b) => a - b));
  });

  const rejects = (frame: Uint8Array, reason: RegExp) => {
    let error: unknown;
    try {
      decodeMessage(frame);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RegioError);
    expect((error as RegioError).code).toBe(ErrorCode.BadFrame);
    expect((error as RegioError).message).toMatch(reason);
  };

  it("rejects frames that are not well-formed messages, saying why", () => {
    rejects(new Uint8Array([0xc1]), /not valid MessagePack/);
    rejects(encode({ type: 1 }), /not a non-empty array/);
    rejects(encode([]), /not a non-empty array/);
    rejects(encode([999]), /unknown message type 999/);
    rejects(encode([MessageType.OpAck]), /field seq is missing/);
    rejects(encode([MessageType.OpAck, "one"]), /field seq is not a valid int/);
    rejects(encode([MessageType.OpAck, 1, 2]), /too many fields/);
    rejects(encode([MessageType.SessionSend, "s", [], 0]), /field data is not a valid payload\[\]/);
    rejects(
      encode([MessageType.Broadcast, 1, { nsp: "/", rooms: [1], except: [] }, ["x"], 0]),
      /field target/,
    );
    rejects(encode([MessageType.SessionOpen, "s", { url: "/" }]), /field handshake/);
  });

  it("accepts absent optional fields and drops trailing ones on encode", () => {
    const bare = encodeMessage({
      type: MessageType.SessionClosed,
      sessionId: SessionId("s"),
      reason: "ping timeout",
    });
    expect(decodeMessage(bare)).toEqual({
      type: MessageType.SessionClosed,
      sessionId: "s",
      reason: "ping timeout",
    });
    expect(bare.length).toBeLessThan(
      encodeMessage({
        type: MessageType.SessionClosed,
        sessionId: SessionId("s"),
        reason: "ping timeout",
        description: "x",
      }).length,
    );
  });

  it('refuses to encode an app value with a key "__proto__" (which the decoder refuses), wherever it is', () => {
    // JSON.parse makes "__proto__" an own key: what a client sends can hold one.
    const hostile = JSON.parse('{"a":[{"__proto__":{"polluted":true}}]}') as unknown;
    const encodes = (message: Parameters<typeof encodeMessage>[0]) => () => encodeMessage(message);
    const refusal = { code: ErrorCode.BadFrame, message: expect.stringMatching(/__proto__/) as unknown };
    expect(encodes({ type: MessageType.ServerSideEmit, seq: 1, nsp: "/", args: ["x", hostile] })).toThrow(
      expect.objectContaining(refusal),
    );
    expect(encodes({ type: MessageType.ServerSideEmitResponse, requestId: 1, response: hostile })).toThrow(
      expect.objectContaining(refusal),
    );
    expect(encodes({ type: MessageType.SocketData, nsp: "/", sid: SocketId("s"), data: hostile })).toThrow(
      expect.objectContaining(refusal),
    );
    // What it does encode, the decoder reads: a "__proto__" that is only a prototype is no key at all.
    const plain = {
      type: MessageType.ServerSideEmitResponse,
      requestId: 1,
      response: { a: { b: [1, "x"] } },
    };
    expect(decodeMessage(encodeMessage(plain as Parameters<typeof encodeMessage>[0]))).toEqual(plain);
  });
});
