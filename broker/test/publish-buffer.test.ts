import { describe, expect, it } from "vitest";
import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from "kafkajs";
import { ErrorCode, RegioError } from "@regio/protocol";
import {
  PublishBuffer,
  type PublishBufferOptions,
  type TopicBatch,
} from "../src/replication/kafka/publish-buffer.ts";
import { RefusedForNow } from "../src/replication/replicator.ts";

const event = (seq: number, bytes = 100) => ({ key: Buffer.from("app"), value: Buffer.alloc(bytes, seq) });
const latest = (key: string, bytes = 100) => ({ key: Buffer.from(key), value: Buffer.alloc(bytes, 7) });

/** The error kafkajs gives when the broker refuses a record batch as too large. */
function tooLarge(): KafkaJSProtocolError {
  const error = Object.assign(new Error("The request included a message larger than the max message size"), {
    type: "MESSAGE_TOO_LARGE",
    code: 10,
    retriable: false,
  });
  return new KafkaJSProtocolError(error);
}

function buffer(options: Partial<PublishBufferOptions> & Pick<PublishBufferOptions, "send">) {
  return new PublishBuffer({
    eventsTopic: "events",
    maxBufferedBytes: 100_000,
    maxBatchBytes: 100_000,
    maxRecordBytes: 50_000,
    ...options,
  });
}

/** A Kafka stand-in that refuses a send holding any record over `limit` bytes, like a broker. */
function kafkaWithLimit(limit: number) {
  const sends: TopicBatch[][] = [];
  const stored: Array<{ topic: string; first: number; bytes: number }> = [];
  return {
    sends,
    stored,
    send: async (batches: TopicBatch[]) => {
      sends.push(batches);
      const messages = batches.flatMap((b) => b.messages);
      if (messages.some((m) => (m.value?.length ?? 0) > limit)) throw tooLarge();
      for (const b of batches)
        for (const m of b.messages)
          stored.push({ topic: b.topic, first: m.value![0]!, bytes: m.value!.length });
    },
  };
}

/**
 * A Kafka stand-in whose writes wait for the test: `writing()` resolves once the buffer's write is
 * in flight, `release()` lets Kafka take it (its events' first bytes go to `sent`).
 */
function gatedKafka() {
  const sent: number[] = [];
  const inFlight: Array<() => void> = [];
  const waiting: Array<() => void> = [];
  return {
    sent,
    send: (batches: TopicBatch[]) =>
      new Promise<void>((resolve) => {
        inFlight.push(() => {
          for (const b of batches) for (const m of b.messages) sent.push(m.value![0]!);
          resolve();
        });
        waiting.shift()?.();
      }),
    writing: () =>
      inFlight.length > 0 ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve)),
    release: () => inFlight.shift()!(),
  };
}

/**
 * A buffer with room for two events, on a Kafka that takes writes at once: 1 and 2 are taken
 * (`firstTwo` resolve once Kafka has them), and 3 was refused for lack of room.
 */
async function threeRefusedForRoom() {
  const kafka = kafkaWithLimit(Infinity);
  const publisher = buffer({ send: kafka.send, maxBufferedBytes: 250 }); // room for two 103-byte events
  const publish = (seq: number) => publisher.publishEvent(event(seq), { stream: "app", seq });
  const firstTwo = [publish(1), publish(2)];
  await expect(publish(3)).rejects.toThrow(/buffer is full/);
  return { kafka, publisher, publish, firstTwo };
}

describe("PublishBuffer", () => {
  it("keeps accepted events until Kafka takes them, in order, retrying failures", async () => {
    const sent: number[] = [];
    let failures = 2;
    const publisher = buffer({
      send: async (batches: TopicBatch[]) => {
        if (failures-- > 0) throw new Error("broker down");
        for (const b of batches) for (const m of b.messages) sent.push(m.value![0]!);
      },
    });
    const accepted = [1, 2, 3].map((seq) => publisher.publishEvent(event(seq), { stream: "app", seq }));
    await Promise.all(accepted);
    expect(sent).toEqual([1, 2, 3]);
    expect(publisher.bufferedBytes).toBe(0);
    expect(publisher.healthy).toBe(true);
    publisher.close();
  });

  it("refuses when full, and refuses the stream's later events until the refused one is accepted", async () => {
    const kafka = gatedKafka();
    const publisher = buffer({ send: kafka.send, maxBufferedBytes: 250 }); // room for two 103-byte events
    const one = publisher.publishEvent(event(1), { stream: "app", seq: 1 });
    const two = publisher.publishEvent(event(2), { stream: "app", seq: 2 });
    await expect(publisher.publishEvent(event(3), { stream: "app", seq: 3 })).rejects.toThrow(
      /buffer is full/,
    );
    await kafka.writing(); // the flush of 1 and 2 is in flight
    kafka.release();
    await Promise.all([one, two]);
    // Room again, but 4 must not overtake the refused 3.
    await expect(publisher.publishEvent(event(4), { stream: "app", seq: 4 })).rejects.toThrow(
      /seq 3 of this stream was refused for lack of room, and goes first/,
    );
    const three = publisher.publishEvent(event(3), { stream: "app", seq: 3 });
    const four = publisher.publishEvent(event(4), { stream: "app", seq: 4 });
    await kafka.writing();
    kafka.release();
    await Promise.all([three, four]);
    expect(kafka.sent).toEqual([1, 2, 3, 4]);
    publisher.close();
  });

  it("takes the refused events back lowest first: a new event does not overtake one refused for order", async () => {
    // A backlog drains while the app goes on broadcasting: 3 and 4 were refused; 3 comes again and is
    // taken; 5, new, comes before 4's re-send. Taken, 5 would reach Kafka before 4, which the other
    // regions' sequence gates take for a gap, and skip.
    const { kafka, publisher, publish, firstTwo } = await threeRefusedForRoom();
    await expect(publish(4)).rejects.toThrow(/buffer is full/);
    await Promise.all(firstTwo);
    const three = publish(3);
    const refusedFive = await publish(5).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusedFive).toBeInstanceOf(RefusedForNow);
    expect(refusedFive).toMatchObject({
      message: "seq 4 of this stream was refused for lack of room, and goes first",
      resumeFrom: 4, // what the node names to the SDK: where to re-send from
    });
    await Promise.all([three, publish(4)]);
    await publish(5);
    expect(kafka.stored.map((record) => record.first)).toEqual([1, 2, 3, 4, 5]);
    publisher.close();
  });

  it("forgets a stream's refused events when its app server unlinks: it comes back from its own lowest", async () => {
    // The app server moved to another node, which took 3; back here, it never sends 3 again.
    const { kafka, publisher, publish, firstTwo } = await threeRefusedForRoom();
    await Promise.all(firstTwo);
    publisher.forgetRefused("app");
    await publish(4);
    expect(kafka.stored.map((record) => record.first)).toEqual([1, 2, 4]);
    publisher.close();
  });

  it("lets a refused copy of an accepted event hold nothing back: the stream goes on once there is room", async () => {
    // A re-send that crossed its acknowledgement: the SDK never sends that seq again, so a stream
    // waiting behind it would wait for good (seen: a drain stuck with an empty buffer).
    const kafka = gatedKafka();
    const publisher = buffer({ send: kafka.send, maxBufferedBytes: 250 }); // room for two 103-byte events
    const one = publisher.publishEvent(event(1), { stream: "app", seq: 1 });
    await kafka.writing();
    kafka.release();
    await one; // 1 is in Kafka, and acknowledged
    const two = publisher.publishEvent(event(2), { stream: "app", seq: 2 });
    const three = publisher.publishEvent(event(3), { stream: "app", seq: 3 });
    // The buffer is full (2 and 3 wait for Kafka) when a copy of 1 comes: refused for now.
    await expect(publisher.publishEvent(event(1), { stream: "app", seq: 1 })).rejects.toThrow(
      /buffer is full/,
    );
    await kafka.writing();
    kafka.release();
    await Promise.all([two, three]);
    // Room again: 4 goes, though 1 was refused after 3.
    const four = publisher.publishEvent(event(4), { stream: "app", seq: 4 });
    await Promise.race([kafka.writing(), four]); // a refused 4 fails here, with its reason
    kafka.release();
    await four;
    expect(kafka.sent).toEqual([1, 2, 3, 4]);
    publisher.close();
  });

  it("sends at most maxBatchBytes at a time, always at least one record, events and latest values alike", async () => {
    const kafka = kafkaWithLimit(Infinity);
    const publisher = buffer({ send: kafka.send, maxBatchBytes: 1000, maxRecordBytes: 5000 });
    const accepted = Array.from({ length: 12 }, (_, i) =>
      publisher.publishEvent(event(i + 1, 300), { stream: "app", seq: i + 1 }),
    );
    // Larger than a batch on its own: still sent (alone), the budget is not a record limit.
    accepted.push(publisher.publishEvent(event(13, 2000), { stream: "app", seq: 13 }));
    for (let i = 0; i < 6; i++) publisher.publishLatest("membership", latest(`socket-${i}`, 300));
    await Promise.all(accepted);
    await publisher.drain(1000);
    expect(kafka.stored.filter((r) => r.topic === "events").map((r) => r.first)).toEqual(
      [...Array(13).keys()].map((i) => i + 1),
    );
    expect(kafka.stored.filter((r) => r.topic === "membership")).toHaveLength(6);
    for (const send of kafka.sends) {
      const records = send.flatMap((b) => b.messages);
      const bytes = records.reduce((sum, m) => sum + m.key.length + (m.value?.length ?? 0), 0);
      expect(records.length === 1 || bytes <= 1000).toBe(true);
    }
    publisher.close();
  });

  it("fails alone, with a non-retriable error, a record Kafka refuses; the others are sent in order", async () => {
    const kafka = kafkaWithLimit(1000);
    const publisher = buffer({ send: kafka.send });
    const results = [1, 2, 3, 4, 5].map((seq) =>
      publisher.publishEvent(event(seq, seq === 3 ? 2000 : 100), { stream: "app", seq }),
    );
    const error = (await results[2]!.catch((e: unknown) => e)) as RegioError;
    expect(error).toBeInstanceOf(RegioError);
    expect(error.code).toBe(ErrorCode.PayloadTooLarge);
    expect(error.retriable).toBe(false);
    await Promise.all(results.filter((_, i) => i !== 2));
    expect(kafka.stored.map((r) => r.first)).toEqual([1, 2, 4, 5]);
    // The first send held all five and was refused; then one record at a time until the offender.
    expect(kafka.sends[0]!.flatMap((b) => b.messages)).toHaveLength(5);
    expect(kafka.sends.slice(1, 4).map((s) => s.flatMap((b) => b.messages).length)).toEqual([1, 1, 1]);
    expect(publisher.healthy).toBe(true);
    expect(publisher.bufferedBytes).toBe(0);

    // Later events of the same stream go on, batched again.
    await Promise.all([6, 7].map((seq) => publisher.publishEvent(event(seq), { stream: "app", seq })));
    expect(kafka.stored.map((r) => r.first)).toEqual([1, 2, 4, 5, 6, 7]);
    expect(kafka.sends.at(-1)!.flatMap((b) => b.messages)).toHaveLength(2);
    publisher.close();
  });

  it("treats a record fault found after kafkajs's retries (the cause of NumberOfRetriesExceeded) the same way", async () => {
    let calls = 0;
    const publisher = buffer({
      send: async (batches) => {
        calls++;
        if (batches.flatMap((b) => b.messages).some((m) => m.value![0] === 2)) {
          throw new KafkaJSNumberOfRetriesExceeded(tooLarge(), { retryCount: 5, retryTime: 100 });
        }
      },
    });
    const results = [1, 2].map((seq) => publisher.publishEvent(event(seq), { stream: "app", seq }));
    await results[0];
    await expect(results[1]).rejects.toMatchObject({ code: ErrorCode.PayloadTooLarge, retriable: false });
    expect(calls).toBe(3);
    publisher.close();
  });

  it("refuses at once, for good, a record over maxRecordBytes, without blocking its stream", async () => {
    const kafka = kafkaWithLimit(Infinity);
    const dropped: string[] = [];
    const publisher = buffer({
      send: kafka.send,
      maxRecordBytes: 1000,
      onDropped: (topic) => dropped.push(topic),
    });
    const refused = publisher.publishEvent(event(1, 2000), { stream: "app", seq: 1 });
    expect(publisher.bufferedBytes).toBe(0);
    await expect(refused).rejects.toMatchObject({ code: ErrorCode.PayloadTooLarge, retriable: false });
    await publisher.publishEvent(event(2), { stream: "app", seq: 2 });
    expect(kafka.stored.map((r) => r.first)).toEqual([2]);

    publisher.publishLatest("membership", latest("huge", 2000));
    expect(dropped).toEqual(["membership"]);
    publisher.close();
  });

  it("drops a membership or heartbeat record Kafka refuses, and sends the other latest values", async () => {
    const kafka = kafkaWithLimit(1000);
    const dropped: string[] = [];
    const publisher = buffer({
      send: kafka.send,
      onDropped: (topic, reason) => dropped.push(`${topic}: ${reason}`),
    });
    publisher.publishLatest("membership", latest("a"));
    publisher.publishLatest("membership", latest("b", 2000));
    publisher.publishLatest("nodes", latest("n1"));
    expect(await publisher.drain(2000)).toBe(true);
    expect(kafka.stored.map((r) => r.topic).sort()).toEqual(["membership", "nodes"]);
    expect(dropped).toEqual([expect.stringMatching(/^membership: MESSAGE_TOO_LARGE/)]);
    publisher.close();
  });
});
