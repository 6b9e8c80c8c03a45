import { afterEach, describe, expect, it } from "vitest";
import { decodeMessage, ErrorCode, MessageType, type Message } from "@regio/protocol";
import { LinkSet, newLinkState, type LinkState } from "../../sdk/src/link/link-set.ts";
import type { UnsequencedOperation } from "../../sdk/src/link/outbox.ts";
import { ACCESS_KEY, HUB } from "../support/regio-harness.ts";
import { startScriptedNode, type ScriptedLink, type ScriptedNode } from "../support/scripted-node.ts";
import { until } from "../support/events.ts";
import { MAX_RESEND_AFTER_MS, ResendBackoff } from "../../sdk/src/link/resend-backoff.ts";

const broadcast = (n: number): UnsequencedOperation => ({
  type: MessageType.Broadcast,
  target: { nsp: "/", rooms: [], except: [] },
  packet: [`2["n",${n}]`],
  flags: 0,
});

/**
 * A node whose buffer for its log is full refuses operations for now and says which (an Error with
 * the seq, retriable): the SDK sends them again as the node's acknowledgements free room, two per
 * acknowledgement and in order, not at its periodic re-send (10 minutes here, so only the refusal
 * can explain a re-send). The node is scripted: what it refuses and acknowledges is the test's.
 */
describe("a LinkSet whose node refuses operations for now, or acknowledges nothing", () => {
  let node: ScriptedNode;
  let state: LinkState;
  let links: LinkSet;
  let link: ScriptedLink;
  /** Every operation's seq the node received, in order, re-sends included. */
  let received: number[];
  /** When the node received each of them (ms), in the same order. */
  let receivedAt: number[];

  /**
   * A LinkSet linked to the scripted node, that has sent operations 1-6 and had them received; 4-6
   * `staggerMs` after 1-3 when given (an app server sends as its app goes, not all at once).
   */
  async function linkedWithSix(resendAfterMs: number, staggerMs = 0): Promise<void> {
    node = await startScriptedNode();
    state = newLinkState("refused-resend");
    links = new LinkSet(
      {
        endpoint: new URL(node.url),
        hub: HUB,
        accessKey: ACCESS_KEY,
        appServerId: "refused-resend",
        resendAfterMs,
      },
      state,
    );
    links.start();
    link = await node.nextLink();
    received = [];
    receivedAt = [];
    link.ws.on("message", (data: Buffer) => {
      const message = decodeMessage(data);
      if (message.type !== MessageType.Broadcast) return;
      received.push(message.seq);
      receivedAt.push(Date.now());
    });
    for (let n = 1; n <= 3; n++) links.sendOperation(broadcast(n));
    // The stagger is the input: the time between two sends, not a wait for anything.
    if (staggerMs > 0) await new Promise((resolve) => setTimeout(resolve, staggerMs));
    for (let n = 4; n <= 6; n++) links.sendOperation(broadcast(n));
    await until(() => received.length === 6, "the node got operations 1-6");
  }
  afterEach(async () => {
    await links.close();
    await node.close();
  });

  const refuse = (seq: number): Message => ({
    type: MessageType.Error,
    code: ErrorCode.LinkDown,
    message: "replication buffer is full",
    retriable: true,
    seq,
  });
  const ack = (seq: number): Message => ({ type: MessageType.OpAck, seq });

  it("sends the refused operations again two per acknowledgement, in order, until none is left", async () => {
    await linkedWithSix(600_000);
    link.send(refuse(3));
    link.send(ack(1));
    await until(() => received.length === 8, "operations 3 and 4 went again after the first ack");
    expect(received.slice(6)).toEqual([3, 4]);
    link.send(ack(2));
    await until(() => received.length === 10, "operations 5 and 6 went again after the second ack");
    for (let seq = 3; seq <= 6; seq++) link.send(ack(seq));
    await until(() => state.outbox.size.operations === 0, "every operation acknowledged");
    // The acks of 3-6 found nothing refused: a request sent now is the next thing on the link.
    links.request(
      (requestId) => ({ type: MessageType.ServerCount, requestId }),
      () => true,
    );
    await link.next(MessageType.ServerCount);
    expect(received).toEqual([1, 2, 3, 4, 5, 6, 3, 4, 5, 6]);
  });

  it("resumes where the node's latest refusal says, also past an earlier one", async () => {
    await linkedWithSix(600_000);
    link.send(refuse(3));
    // The node took 3 and 4 since (another re-send brought them), and now waits for 5.
    link.send(refuse(5));
    link.send(ack(1));
    await until(() => received.length === 8, "two refused operations went again after the ack");
    expect(received.slice(6)).toEqual([5, 6]);
  });

  it("sends nothing early without a refusal, and ignores one of an operation it does not hold", async () => {
    await linkedWithSix(600_000);
    link.send(ack(1));
    // Operation 1 is acknowledged: a refusal of it is not one of an operation the SDK holds.
    link.send(refuse(1));
    link.send(ack(2));
    link.send(refuse(4));
    link.send(ack(3));
    await until(
      () => received.length === 8,
      "operations 4 and 5 went again after the ack that followed its refusal",
    );
    await until(() => state.outbox.size.operations === 3, "operations 1-3 acknowledged");
    links.request(
      (requestId) => ({ type: MessageType.ServerCount, requestId }),
      () => true,
    );
    await link.next(MessageType.ServerCount);
    expect(received).toEqual([1, 2, 3, 4, 5, 6, 4, 5]);
  });

  it("re-sends only the first refused operation periodically while the node refuses, and leaves a drain to the acknowledgements", async () => {
    await linkedWithSix(1000); // stale after 1 s, looked at every 0.5 s
    link.send(refuse(3));
    const sent = (seq: number) => received.filter((s) => s === seq).length;
    await until(() => sent(3) === 2, "operation 3 re-sent", 10_000);
    // From one re-send of 3 to the next, nothing else goes: not 1 and 2 (the node holds them, waiting
    // for its log), nor 4-6 (it refuses them until it takes 3). Counted between two re-sends of 3, so
    // that a look before the refusal was read (a stalled process) cannot fail the test.
    const others = received.length - sent(3);
    await until(() => sent(3) === 3, "operation 3 re-sent again", 10_000);
    expect(received.length - sent(3)).toBe(others);
    // An acknowledgement: the node has room again, and 3 and 4 go at once. From then on the periodic
    // re-send sends what is before the resume point (5) and stale (2, never acknowledged; 3 and 4
    // after a second), and, as the node acknowledges nothing more, 5 alone: it would find the room
    // if there were any. 6 is the acknowledgements' to send: the periodic re-send leaves it alone.
    const before = [2, 3, 4, 5, 6].map(sent);
    link.send(ack(1));
    await until(
      () => [2, 3, 4].every((seq, i) => sent(seq) >= before[i]! + 2) && sent(5) >= before[3]! + 2,
      "operations 2-4 re-sent (3 and 4 at once, then with 2 periodically) and 5 twice alone",
      20_000,
    );
    expect(sent(6)).toBe(before[4]);
    // The next acknowledgement sends 5 and 6: the drain goes on at the node's pace.
    link.send(ack(2));
    await until(() => sent(6) === before[4]! + 1, "operation 6 sent on the next acknowledgement", 10_000);
  });

  it("waits longer between periodic re-sends while the node acknowledges nothing, and not once it does", async () => {
    // Stale after 0.2 s, looked at every 0.1 s; 4-6 sent 150 ms after 1-3, so that a look finds 1-3
    // stale and not 4-6 (the looks are 0.1 s apart), and a later one finds 4-6: each re-send goes in
    // two parts, and doubles the wait once. Doubling at each part, 1 waited 0.2, 0.8, 3.2, 12.8 s.
    await linkedWithSix(200, 150);
    // The node took 1-6 and acknowledges nothing (its log is down): each periodic re-send finds it
    // silent and doubles the wait, 0.2, 0.4, 0.8, 1.6, 3.2 s. Operation 1 is the one watched: it is
    // the first of its part to go each time.
    const resendsOf1 = () => receivedAt.filter((_, i) => received[i] === 1);
    const linkedAt = Date.now();
    await until(
      () => resendsOf1().length === 6,
      () =>
        `operation 1 sent and re-sent five times; received ${received.join(",")} at ${receivedAt.map((t) => t - linkedAt).join(",")} ms`,
      20_000,
    );
    const times = resendsOf1();
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // A lower bound only (timers never fire early), with room for when each copy was read: the
    // fifth wait is 3.2 s; every 0.2-0.3 s, as before, it would be under 1 s. (No ratio to the first
    // gap: a stall there would inflate it.)
    expect(gaps[4]).toBeGreaterThan(2000);
    // An acknowledgement: the log takes operations again, and the net is as tight as at first. The
    // next re-send comes within about 0.3 s, not the 6.4 s the next doubled wait would be.
    const acknowledgedAt = Date.now();
    link.send(ack(6));
    await until(() => resendsOf1().length === 7, "operation 1 re-sent after the acknowledgement", 20_000);
    expect(resendsOf1()[6]! - acknowledgedAt).toBeLessThan(gaps[4]!);
  });
});

describe("ResendBackoff", () => {
  it("doubles the wait with each re-send while nothing is acknowledged, up to its bound, and starts over on an acknowledgement", () => {
    const backoff = new ResendBackoff(3000);
    const waits: number[] = [];
    let now = 1_000_000;
    for (let i = 0; i < 7; i++) {
      waits.push(backoff.staleAfterMs);
      now += backoff.staleAfterMs;
      backoff.resent(now);
    }
    expect(waits).toEqual([3000, 6000, 12_000, 24_000, 30_000, 30_000, 30_000]);
    expect(MAX_RESEND_AFTER_MS).toBe(30_000);
    backoff.acknowledged();
    expect(backoff.staleAfterMs).toBe(3000);
    // Right after an acknowledgement, a re-send doubles the wait again, however recent the last one.
    backoff.resent(now + 1);
    expect(backoff.staleAfterMs).toBe(6000);
  });

  it("doubles the wait once for a re-send that goes in parts, over several looks within a wait", () => {
    const backoff = new ResendBackoff(3000);
    backoff.resent(10_000); // the operations sent first
    backoff.resent(11_500); // the ones sent later, stale a look later
    expect(backoff.staleAfterMs).toBe(6000);
    backoff.resent(15_999); // not a whole wait since the wait doubled: still a part
    expect(backoff.staleAfterMs).toBe(6000);
    backoff.resent(16_000); // the first ones again, a whole wait later
    expect(backoff.staleAfterMs).toBe(12_000);
  });

  it("never waits less than the configured wait, even past the bound", () => {
    const backoff = new ResendBackoff(60_000);
    backoff.resent(1_000_000);
    expect(backoff.staleAfterMs).toBe(60_000);
  });
});
