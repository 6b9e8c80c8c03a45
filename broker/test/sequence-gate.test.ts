import { afterEach, describe, expect, it, vi } from "vitest";
import { IDLE_STREAM_MS, SequenceGate } from "../src/replication/sequence-gate.ts";

describe("SequenceGate", () => {
  afterEach(() => vi.useRealTimers());

  it("delivers each number once and in order, holding back early arrivals", () => {
    const out: number[] = [];
    const gate = new SequenceGate<number>((n) => out.push(n));
    expect(gate.offer("app", 5, 5)).toBe("delivered"); // the first number seen starts the stream
    expect(gate.offer("app", 7, 7)).toBe("held");
    expect(gate.offer("app", 5, 5)).toBe("duplicate");
    expect(gate.offer("app", 7, 7)).toBe("duplicate");
    expect(gate.offer("app", 6, 6)).toBe("delivered");
    expect(out).toEqual([5, 6, 7]);
    expect(gate.offer("app", 6, 6)).toBe("duplicate");
    expect(gate.offer("other", 1, 100)).toBe("delivered"); // streams are independent
    expect(out).toEqual([5, 6, 7, 100]);
    gate.close();
  });

  it("gives up on a missing number after the gap timeout, says so, and goes on in order", () => {
    vi.useFakeTimers();
    const out: number[] = [];
    const gaps: Array<[number, number]> = [];
    const gate = new SequenceGate<number>(
      (n) => out.push(n),
      (_app, from, to) => gaps.push([from, to]),
      1000,
    );
    gate.offer("app", 1, 1);
    gate.offer("app", 4, 4);
    gate.offer("app", 3, 3);
    vi.advanceTimersByTime(999);
    expect(out).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(out).toEqual([1, 3, 4]);
    expect(gaps).toEqual([[2, 2]]);
    expect(gate.offer("app", 2, 2)).toBe("duplicate"); // too late: never delivered out of order
    gate.close();
  });
});

describe("SequenceGate pruning", () => {
  it("forgets a stream idle past the bound with nothing held, and keeps the others", () => {
    const out: number[] = [];
    const gate = new SequenceGate<number>((n) => out.push(n));
    gate.offer("gone", 1, 1);
    gate.offer("held", 1, 1);
    gate.offer("held", 3, 3); // 2 is missing: something is held
    const later = Date.now() + IDLE_STREAM_MS + 1;
    gate.prune(later);
    expect(gate.position("gone")).toBeUndefined();
    expect(gate.position("held")).toBe(1);
    gate.close();
  });
});
