import { describe, expect, it } from "vitest";
import { FrameRun } from "../src/hub/frame-run.ts";
import { preparePacket } from "../src/hub/prepared-packet.ts";

const event = (text: string) => preparePacket([`2["m","${text}"]`], 0, true);
/** The text payloads of the unmasked, short text frames in `buffer`, in order. */
function payloads(buffer: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < buffer.length;) {
    const length = buffer[at + 1]! & 0x7f;
    out.push(buffer.subarray(at + 2, at + 2 + length).toString());
    at += 2 + length;
  }
  return out;
}

describe("FrameRun", () => {
  it("gives clients written the same packets in the same order one shared buffer of their frames", () => {
    const [a, b, c] = [event("a"), event("b"), event("c")];
    const root = FrameRun.start();
    const everyone = root.then(a).then(b);
    const again = root.then(a).then(b);
    expect(again).toBe(everyone);
    expect(everyone.frames()).toBe(again.frames());
    expect(payloads(everyone.frames()!)).toEqual(['42["m","a"]', '42["m","b"]']);
    // A room's member also gets c: a run of its own, the others' unchanged.
    const member = root.then(a).then(b).then(c);
    expect(member).not.toBe(everyone);
    expect(payloads(member.frames()!)).toEqual(['42["m","a"]', '42["m","b"]', '42["m","c"]']);
    // Another order is another run.
    expect(payloads(root.then(b).then(a).frames()!)).toEqual(['42["m","b"]', '42["m","a"]']);
  });

  it("frames every part of a packet made of several text parts (an app server's answers of one tick)", () => {
    const answers = preparePacket(['30["a"]', '31["b"]'], 0, true);
    const run = FrameRun.start().then(event("x")).then(answers);
    expect(payloads(run.frames()!)).toEqual(['42["m","x"]', '430["a"]', '431["b"]']);
    // Alone in its run, a packet's frames are the run's frames (no copy).
    expect(FrameRun.start().then(answers).frames()).toBe(answers.frames);
  });

  it("has no shared buffer for a run with a packet that has no pre-built frame, only its packets", () => {
    const text = event("a");
    const binary = preparePacket(['51-["m",{"_placeholder":true,"num":0}]', new Uint8Array([1, 2])], 0, true);
    const run = FrameRun.start().then(text).then(binary);
    expect(run.frames()).toBeUndefined();
    expect(run.packets()).toEqual([text, binary]);
  });
});
