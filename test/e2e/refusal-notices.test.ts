import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  InProcessBus,
  RefusedForNow,
  type BrokerHandle,
  type ReplicatedRecord,
  type Replicator,
} from "@regio/broker";
import {
  appLinkPath,
  decodeMessage,
  encodeMessage,
  ErrorCode,
  MessageType,
  RegioError,
  signLinkToken,
  StreamId,
  type Message,
} from "@regio/protocol";
import { ACCESS_KEY, HUB, startTestBroker } from "../support/regio-harness.ts";
import { until } from "../support/events.ts";

/** A lone node's replicator whose publishes wait until the test settles them, by seq. */
function heldReplicator(): { replicator: Replicator; held: Map<number, HeldPublish>; forgotten: string[] } {
  const inner = new InProcessBus(true).connect("held");
  const held = new Map<number, HeldPublish>();
  const forgotten: string[] = [];
  const replicator: Replicator = {
    start: (handlers) => inner.start(handlers),
    publish: (record: ReplicatedRecord) =>
      new Promise<void>((resolve, reject) => held.set(record.seq, { resolve, reject })),
    publishMembership: (record) => inner.publishMembership(record),
    publishHeartbeat: (heartbeat) => inner.publishHeartbeat(heartbeat),
    status: () => inner.status(),
    close: () => inner.close(),
    forgetRefused: (stream) => forgotten.push(stream),
  };
  return { replicator, held, forgotten };
}
interface HeldPublish {
  resolve(): void;
  reject(error: unknown): void;
}

const bufferFull = () => new RegioError(ErrorCode.LinkDown, "replication buffer is full");

/**
 * A node tells an app server which operation its replicator refused for now (ADR 0020): the lowest
 * of those refused together. A copy of an operation the link had acknowledged (a re-send that
 * crossed its ack) is not one to name: the SDK no longer holds it and ignores the notice, so the
 * genuine refusal beside it would wait for the periodic re-send.
 */
describe("a node's notice of operations refused for now", () => {
  let broker: BrokerHandle;
  let held: Map<number, HeldPublish>;
  let forgotten: string[];

  beforeAll(async () => {
    const scripted = heldReplicator();
    held = scripted.held;
    forgotten = scripted.forgotten;
    broker = await startTestBroker({ replicator: scripted.replicator });
  });
  afterAll(async () => {
    await broker.close();
  });

  /** An app link that said Ready; every frame it received, and a way to send operations. */
  async function appLink(stream: string) {
    const token = signLinkToken(ACCESS_KEY, { hub: HUB, sub: stream });
    const ws = new WebSocket(broker.url.replace("http", "ws") + appLinkPath(HUB), {
      headers: { authorization: `Bearer ${token}` },
    });
    const frames: Message[] = [];
    ws.on("message", (data: Buffer) => {
      const message = decodeMessage(data);
      if (message.type === MessageType.Hello)
        ws.send(encodeMessage({ type: MessageType.Ready, stream: StreamId(stream) }));
      frames.push(message);
    });
    await until(() => frames.some((m) => m.type === MessageType.Hello), "the node said Hello");
    const broadcast = (seq: number) =>
      ws.send(
        encodeMessage({
          type: MessageType.Broadcast,
          seq,
          target: { nsp: "/", rooms: [], except: [] },
          packet: [`2["n",${seq}]`],
          flags: 0,
        }),
      );
    const errors = () => frames.filter((m) => m.type === MessageType.Error);
    const acked = () => frames.flatMap((m) => (m.type === MessageType.OpAck ? [m.seq] : []));
    /** Waits until the node answered a request sent now: everything it sent before is in `frames`. */
    const settled = async (requestId: number) => {
      ws.send(encodeMessage({ type: MessageType.ServerCount, requestId }));
      await until(
        () => frames.some((m) => m.type === MessageType.ServerCountResult && m.requestId === requestId),
        "the node answered the marker request",
      );
    };
    return { ws, broadcast, errors, acked, settled };
  }

  /** Operations 1-3 sent and 1-2 acknowledged; the replicator holds 3. */
  async function twoAcknowledged(stream: string) {
    held.clear();
    const link = await appLink(stream);
    for (const seq of [1, 2, 3]) link.broadcast(seq);
    await until(() => held.size === 3, "the replicator got operations 1-3");
    held.get(1)!.resolve();
    held.get(2)!.resolve();
    await until(() => link.acked().length === 2, "operations 1 and 2 acknowledged");
    return link;
  }

  it("names the lowest genuine refusal, not a copy of an acknowledged operation refused with it", async () => {
    const link = await twoAcknowledged("notice-copy-and-new");
    held.delete(2);
    link.broadcast(2); // a copy: its re-send crossed the ack of 2
    link.broadcast(4);
    await until(() => held.has(2) && held.has(4), "the replicator got the copy of 2 and operation 4");
    // Refused together, as a full buffer refuses what one turn brings.
    held.get(2)!.reject(bufferFull());
    held.get(4)!.reject(bufferFull());
    await until(() => link.errors().length === 1, "a refusal notice");
    expect(link.errors()[0]).toMatchObject({ seq: 4, retriable: true, code: ErrorCode.LinkDown });
    await link.settled(1);
    expect(link.errors()).toHaveLength(1);
    link.ws.terminate();
  });

  it("sends no notice when only copies of acknowledged operations were refused", async () => {
    const link = await twoAcknowledged("notice-copies-only");
    held.delete(1);
    held.delete(2);
    link.broadcast(1);
    link.broadcast(2);
    await until(() => held.has(1) && held.has(2), "the replicator got the copies of 1 and 2");
    held.get(1)!.reject(bufferFull());
    held.get(2)!.reject(bufferFull());
    await link.settled(2);
    expect(link.errors()).toEqual([]);
    link.ws.terminate();
  });

  it("names where the replicator says the stream resumes, not the operation it refused", async () => {
    const link = await twoAcknowledged("notice-resume-point");
    held.get(3)!.resolve();
    await until(() => link.acked().length === 3, "operation 3 acknowledged");
    link.broadcast(4);
    link.broadcast(5);
    await until(() => held.has(4) && held.has(5), "the replicator got operations 4 and 5");
    // 5 is refused because 4, before it, waits (refused earlier in this story, say); 4 goes on waiting.
    held
      .get(5)!
      .reject(new RefusedForNow("seq 4 of this stream was refused for lack of room, and goes first", 4));
    await until(() => link.errors().length === 1, "a refusal notice");
    expect(link.errors()[0]).toMatchObject({ seq: 4, retriable: true });
    link.ws.terminate();
  });

  it("has the replicator forget a stream's refusals when its app server unlinks", async () => {
    const link = await appLink("notice-unlinked");
    link.ws.terminate();
    await until(() => forgotten.includes("notice-unlinked"), "the replicator was told");
  });
});
