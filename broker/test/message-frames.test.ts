import { describe, expect, it } from "vitest";
import * as ws from "ws";
import { messageFrames } from "../src/hub/message-frames.ts";

// What engine.io's WebSocket transport has ws write for a text message: "4" + text, as one
// unmasked text frame (ws's own frame builder, untyped).
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };
const wsFrame = (text: string) =>
  Buffer.concat(
    Sender.frame(Buffer.from("4" + text), {
      readOnly: false,
      mask: false,
      rsv1: false,
      opcode: 1,
      fin: true,
    }),
  );
const framesOf = (texts: string[]) =>
  messageFrames(
    texts,
    texts.map((text) => Buffer.byteLength(text)),
  );

describe("messageFrames", () => {
  it("writes the bytes ws writes, at every length-encoding boundary", () => {
    // Payload ("4" + text) of 0..125 bytes: 7-bit length; 126..65535: 16-bit; more: 64-bit.
    for (const length of [0, 1, 124, 125, 126, 127, 65_534, 65_535, 65_536, 70_000]) {
      const text = "x".repeat(length);
      expect(framesOf([text]).equals(wsFrame(text)), `${length} bytes`).toBe(true);
    }
  });

  it("measures UTF-8, not UTF-16 (multi-byte characters, a lone surrogate as ws writes it)", () => {
    for (const text of ["é".repeat(62), "é".repeat(63), "😀".repeat(40), "a\ud800b", '2["m","ü"]']) {
      expect(framesOf([text]).equals(wsFrame(text)), text).toBe(true);
    }
  });

  it("puts several messages one after the other, in order, in one buffer", () => {
    const texts = ['3["a"]', "", "y".repeat(300), '2["ü"]'];
    expect(framesOf(texts).equals(Buffer.concat(texts.map(wsFrame)))).toBe(true);
  });
});
