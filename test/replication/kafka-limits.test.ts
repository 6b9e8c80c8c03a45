import { NodeId, StreamId } from "@regio/protocol";
import { afterEach, describe, expect, inject, it } from "vitest";
import { ErrorCode, MessageType, RegioError } from "@regio/protocol";
import { KafkaReplicator } from "../../broker/src/replication/kafka/kafka-replicator.ts";
import type { ReplicatedRecord, Replicator } from "../../broker/src/replication/replicator.ts";
import { createLogger } from "../../broker/src/logger.ts";
import { ACCESS_KEY } from "../support/regio-harness.ts";
import { until } from "../support/events.ts";
import { provisionTopics, uniqueTopics } from "../support/topics.ts";

function broadcast(appServerId: string, seq: number, bytes: number): ReplicatedRecord {
  return {
    hub: "chat",
    origin: { region: "eastus", nodeId: NodeId("a") },
    stream: StreamId(appServerId),
    seq,
    operation: {
      type: MessageType.Broadcast,
      seq,
      target: { nsp: "/", rooms: [], except: [] },
      packet: [`2["n",${seq}]`, new Uint8Array(bytes)],
      flags: 1,
    },
  };
}

/** A record that cannot be replicated fails alone; it never stalls the node's replication. */
describe("Kafka replication limits", () => {
  const started: Replicator[] = [];
  afterEach(async () => {
    await Promise.allSettled(started.splice(0).map((r) => r.close()));
  });

  const start = async (nodeId: string, topics: ReturnType<typeof uniqueTopics>) => {
    const received: ReplicatedRecord[] = [];
    const replicator = new KafkaReplicator({
      region: "eastus",
      nodeId: NodeId(nodeId),
      local: { brokers: [inject("kafka").eastus!], ssl: false },
      peers: new Map(),
      topics,
      accessKeys: [ACCESS_KEY],
      log: createLogger({ node: nodeId }, process.env.REGIO_LOG_LEVEL ?? "silent"),
    });
    started.push(replicator);
    await replicator.start({ record: (r) => received.push(r), membership: () => {}, heartbeat: () => {} });
    return { replicator, received };
  };

  it("fails a record Kafka refuses as too large alone, with a typed error, and keeps replicating the rest in order", async () => {
    const topics = uniqueTopics("l");
    // The events topic takes at most 20 kB per record batch: a 30 kB record is over Kafka's limit.
    await provisionTopics(inject("kafka").eastus!, topics, { events: { "max.message.bytes": "20000" } });
    const a = await start("a", topics);
    const b = await start("b", topics);

    // Published together, so that they would share one batch.
    const results = Array.from({ length: 20 }, (_, i) =>
      a.replicator.publish(broadcast("app1", i + 1, i + 1 === 5 ? 30_000 : 100)),
    );
    const oversize = results[4]!;
    await expect(oversize).rejects.toBeInstanceOf(RegioError);
    const error = (await oversize.catch((e: unknown) => e)) as RegioError;
    expect([ErrorCode.PayloadTooLarge, ErrorCode.ReplicationFailed]).toContain(error.code);
    expect(error.retriable).toBe(false);
    await Promise.all(results.filter((r) => r !== oversize));

    const expected = [...Array(20).keys()].map((i) => i + 1).filter((seq) => seq !== 5);
    await until(() => b.received.length >= expected.length, "b got every other record", 15_000);
    expect(b.received.map((r) => r.seq)).toEqual(expected);
    expect(a.replicator.status()).toMatchObject({ ready: true, bufferedBytes: 0 });

    // And later records of the same app server still go through.
    await a.replicator.publish(broadcast("app1", 21, 100));
    await until(() => b.received.at(-1)?.seq === 21, "b got the next record");
  }, 60_000);

  it("refuses a record over the record limit at once (1.1 MB), never buffering it", async () => {
    const topics = uniqueTopics("l");
    const a = await start("a", topics);
    const b = await start("b", topics);
    const refused = a.replicator.publish(broadcast("app1", 1, 1_100_000));
    expect(a.replicator.status().bufferedBytes).toBe(0);
    const error = (await refused.catch((e: unknown) => e)) as RegioError;
    expect(error).toBeInstanceOf(RegioError);
    expect(error.code).toBe(ErrorCode.PayloadTooLarge);
    expect(error.retriable).toBe(false);

    await a.replicator.publish(broadcast("app1", 2, 100));
    await until(() => b.received.length === 1, "b got the record after the refused one");
    expect(b.received.map((r) => r.seq)).toEqual([2]);
    expect(a.replicator.status().ready).toBe(true);
  }, 60_000);
});
