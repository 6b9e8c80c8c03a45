import { describe, expect, it } from "vitest";
import { RefusedSeqs } from "../src/replication/kafka/refused-seqs.ts";

describe("RefusedSeqs", () => {
  it("waits for the lowest refused seq, and for the next once that one is taken", () => {
    const refused = new RefusedSeqs();
    expect(refused.lowest).toBeUndefined();
    for (const seq of [7, 5, 6, 9, 8]) refused.add(seq);
    expect(refused.lowest).toBe(5);
    expect([4, 5, 6, 7, 8, 9, 10].map((seq) => refused.has(seq))).toEqual([
      false,
      true,
      true,
      true,
      true,
      true,
      false,
    ]);
    for (const expected of [5, 6, 7, 8, 9]) {
      expect(refused.lowest).toBe(expected);
      refused.delete(expected);
    }
    expect(refused.lowest).toBeUndefined();
  });

  it("keeps ranges apart and joins them when the gap between them fills", () => {
    const refused = new RefusedSeqs();
    for (const seq of [1, 2, 4, 5]) refused.add(seq);
    expect(refused.has(3)).toBe(false);
    refused.add(3);
    refused.delete(3); // from the middle of one range: two again
    expect([1, 2, 3, 4, 5].map((seq) => refused.has(seq))).toEqual([true, true, false, true, true]);
    refused.delete(1);
    refused.delete(2);
    expect(refused.lowest).toBe(4);
  });
});
