import { describe, expect, it } from "vitest";
import { PublishBuffer, type TopicBatch } from "../src/replication/kafka/publish-buffer.ts";

const event = (seq: number) => ({ key: Buffer.from("app"), value: Buffer.alloc(100, seq) });

describe("PublishBuffer", () => {
  it("keeps accepted events until Kafka takes them, in order, retrying failures", async () => {
    const sent: number[] = [];
    let failures = 2;
    const buffer = new PublishBuffer(
      async (batches: TopicBatch[]) => {
        if (failures-- > 0) throw new Error("broker down");
        for (const b of batches) for (const m of b.messages) sent.push(m.value![0]!);
      },
      "events",
      10_000,
    );
    const accepted = [1, 2, 3].map((seq) => buffer.publishEvent(event(seq), { stream: "app", seq }));
    await Promise.all(accepted);
    expect(sent).toEqual([1, 2, 3]);
    expect(buffer.bufferedBytes).toBe(0);
    expect(buffer.healthy).toBe(true);
    buffer.close();
  });

  it("refuses when full, and refuses the stream's later events until the refused one is accepted", async () => {
    // Each send waits for the test to release it; `sending` resolves when the buffer calls send.
    let release: () => void = () => {};
    let sending!: Promise<void>;
    let sendCalled: () => void = () => {};
    const nextSend = () => (sending = new Promise<void>((resolve) => (sendCalled = resolve)));
    nextSend();
    const sent: number[] = [];
    const buffer = new PublishBuffer(
      (batches) =>
        new Promise<void>((resolve) => {
          release = () => {
            for (const b of batches) for (const m of b.messages) sent.push(m.value![0]!);
            resolve();
          };
          sendCalled();
        }),
      "events",
      250, // room for two 103-byte events
    );
    const one = buffer.publishEvent(event(1), { stream: "app", seq: 1 });
    const two = buffer.publishEvent(event(2), { stream: "app", seq: 2 });
    await expect(buffer.publishEvent(event(3), { stream: "app", seq: 3 })).rejects.toThrow(/buffer is full/);
    await sending; // the flush of 1 and 2 is in flight
    nextSend();
    release();
    await Promise.all([one, two]);
    // Room again, but 4 must not overtake the refused 3.
    await expect(buffer.publishEvent(event(4), { stream: "app", seq: 4 })).rejects.toThrow(/buffer is full/);
    const three = buffer.publishEvent(event(3), { stream: "app", seq: 3 });
    const four = buffer.publishEvent(event(4), { stream: "app", seq: 4 });
    await sending;
    release();
    await Promise.all([three, four]);
    expect(sent).toEqual([1, 2, 3, 4]);
    buffer.close();
  });
});
