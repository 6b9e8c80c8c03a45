import { AppServerId, NodeId, SessionId, SocketId } from "@regio/protocol";
import { afterEach, describe, expect, inject, it } from "vitest";
import { Kafka, logLevel, type Message } from "kafkajs";
import type { Socket as ClientSocket } from "socket.io-client";
import type { BrokerHandle } from "@regio/broker";
import { KafkaReplicator } from "../../broker/src/replication/kafka/kafka-replicator.ts";
import { encodeHeartbeat, encodeMembership } from "../../broker/src/replication/kafka/record-codec.ts";
import { RecordSigner } from "../../broker/src/replication/kafka/record-signature.ts";
import type { MembershipRecord, NodeHeartbeat } from "../../broker/src/replication/replicator.ts";
import { createLogger } from "../../broker/src/logger.ts";
import { connected, until } from "../support/events.ts";
import {
  ACCESS_KEY,
  connect,
  startAppServer,
  startTestBroker,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { uniqueTopics } from "../support/topics.ts";

const leaseMs = 2000;

/**
 * Anyone with write access to a region's topics must not be able to steer its nodes: records are
 * signed with a key derived from the access key, and heartbeats are checked (time, URL) before a
 * node believes them. Forged records are written straight to the topics with a plain producer.
 */
describe("forged records", () => {
  const brokers: BrokerHandle[] = [];
  const apps: AppServer[] = [];
  const clients: ClientSocket[] = [];

  afterEach(async () => {
    clients.splice(0).forEach((c) => c.disconnect());
    await Promise.allSettled(apps.splice(0).map(stopAppServer));
    await Promise.allSettled(brokers.splice(0).map((b) => b.close()));
  });

  it("ignores unsigned, wrongly signed, future, foreign-URL and impostor heartbeats, unsigned tombstones and unsigned membership", async () => {
    const kafka = inject("kafka").eastus!;
    const topics = uniqueTopics("x");
    const startNode = async (nodeId: string) => {
      const broker = await startTestBroker({
        nodeId,
        region: "eastus",
        leaseMs,
        replicator: new KafkaReplicator({
          region: "eastus",
          nodeId: NodeId(nodeId),
          local: { brokers: [kafka], ssl: false },
          peers: new Map(),
          topics,
          accessKeys: [ACCESS_KEY],
          log: createLogger({ node: nodeId }, process.env.REGIO_LOG_LEVEL ?? "silent"),
        }),
      });
      brokers.push(broker);
      return broker;
    };
    const a = await startNode("a");
    const b = await startNode("b");
    const appA = await startAppServer(a);
    const appB = await startAppServer(b);
    apps.push(appA, appB);
    const a1 = await connected(connect(a));
    const b1 = await connected(connect(b));
    clients.push(a1, b1);
    const viewOfA = async () => (await appA.io.fetchSockets()).map((s) => s.id).sort();
    await until(async () => (await viewOfA()).length === 2, "a's view holds a1 and b1");
    const bIncarnation = a.nodes().find((n) => n.nodeId === "b")!.incarnation;

    const signer = new RecordSigner([ACCESS_KEY]);
    const stranger = new RecordSigner(["not-the-access-key"]);
    const beat = (nodeId: string, changes: Partial<NodeHeartbeat> = {}): NodeHeartbeat => ({
      nodeId: NodeId(nodeId),
      incarnation: "i-forged",
      region: "eastus",
      url: "http://127.0.0.1:1",
      appServers: { chat: [AppServerId("forged-app")] },
      sessions: 0,
      at: Date.now(),
      ...changes,
    });
    const membership = (hub: string, sid: string): MembershipRecord => ({
      hub,
      nsp: "/",
      sid: SocketId(sid),
      owner: {
        region: "eastus",
        nodeId: NodeId("b"),
        incarnation: bIncarnation,
        sessionId: SessionId("s"),
        linkId: "l",
      },
      rooms: [sid, "admins"],
      snapshot: {
        id: sid,
        rooms: [sid, "admins"],
        data: { forged: true },
        handshake: {
          headers: {},
          time: "",
          address: "",
          xdomain: false,
          secure: false,
          issued: 0,
          url: "/",
          query: {},
          auth: {},
        },
      },
    });
    const asMessage = (m: { key: Buffer; value: Buffer | null; headers?: Message["headers"] }): Message => m;

    const producer = new Kafka({
      clientId: "forger",
      brokers: [kafka],
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
    try {
      await producer.send({
        topic: topics.nodes,
        messages: [
          asMessage(encodeHeartbeat(beat("x-unsigned"))),
          asMessage(stranger.sign("nodes", encodeHeartbeat(beat("x-wrong-key")))),
          asMessage(
            signer.sign("nodes", encodeHeartbeat(beat("x-future", { at: Date.now() + 3 * leaseMs }))),
          ),
          asMessage(
            signer.sign("nodes", encodeHeartbeat(beat("x-foreign-url", { url: "http://evil.example:80" }))),
          ),
          asMessage(signer.sign("nodes", encodeHeartbeat(beat("x-impostor", { url: a.url })))),
          // "b is leaving", unsigned and wrongly signed: b must stay.
          asMessage({ key: Buffer.from("b"), value: null }),
          asMessage(stranger.sign("nodes", { key: Buffer.from("b"), value: null })),
        ],
      });
      await producer.send({
        topic: topics.membership,
        messages: [
          asMessage(encodeMembership(membership("chat", "ghost"))),
          asMessage(encodeMembership(membership("forged-hub", "ghost2"))),
          // "b1 is gone", unsigned: b1 must stay.
          asMessage(encodeMembership({ ...membership("chat", b1.id!), rooms: [], snapshot: undefined })),
        ],
      });
    } finally {
      await producer.disconnect();
    }

    // Records written after the forged ones, by real nodes: once a has read them, it has read (and
    // judged) every forged record before them.
    const c = await startNode("c");
    const b2 = await connected(connect(b));
    clients.push(b2);
    await until(() => a.nodes().some((n) => n.nodeId === "c"), "a heard c");
    await until(async () => (await viewOfA()).includes(b2.id!), "a's view holds b2");

    expect(
      a
        .nodes()
        .map((n) => n.nodeId)
        .sort(),
    ).toEqual(["a", "b", "c"]);
    expect(await viewOfA()).toEqual([a1.id, b1.id, b2.id].sort());
    expect(a.hub("forged-hub")).toBeUndefined();
    // c read the forged heartbeats from the log when it started: it believes none of them either
    // (x-impostor names a's URL, which only a itself can tell).
    const seenByC = c.nodes().map((n) => n.nodeId);
    for (const forged of ["x-unsigned", "x-wrong-key", "x-future", "x-foreign-url"]) {
      expect(seenByC).not.toContain(forged);
    }
  }, 60_000);
});
