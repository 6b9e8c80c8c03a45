import { AppServerId, NodeId, SessionId, SocketId, StreamId } from "@regio/protocol";
import { afterEach, expect, it } from "vitest";
import { MessageType } from "@regio/protocol";
import type {
  MembershipRecord,
  NodeHeartbeat,
  ReplicatedRecord,
  ReplicationHandlers,
  Replicator,
} from "../../broker/src/replication/replicator.ts";
import { until } from "../support/events.ts";

/** Makes replicators that see each other: same region, or the given one with every other as a peer. */
export interface ReplicatorFactory {
  create(nodeId: string, region?: string): Replicator;
}

interface Inbox extends ReplicationHandlers {
  records: ReplicatedRecord[];
  members: MembershipRecord[];
  beats: NodeHeartbeat[];
}

function inbox(): Inbox {
  const box: Inbox = {
    records: [],
    members: [],
    beats: [],
    record: (r) => box.records.push(r),
    membership: (m) => box.members.push(m),
    heartbeat: (h) => box.beats.push(h),
  };
  return box;
}

/** A record as its publisher gave it: without what reading it adds (when the log took it). */
/** A record as its publisher gave it: without what a reader learns (when, where in the log). */
function asPublished({
  publishedAt: _publishedAt,
  history: _history,
  via: _via,
  ...record
}: ReplicatedRecord): ReplicatedRecord {
  return record;
}

function record(nodeId: string, region: string, appServerId: string, seq: number): ReplicatedRecord {
  return {
    hub: "chat",
    origin: { region, nodeId: NodeId(nodeId) },
    stream: StreamId(appServerId),
    seq,
    operation: {
      type: MessageType.Broadcast,
      seq,
      target: { nsp: "/", rooms: [], except: [] },
      packet: [`2["n",${seq}]`, new Uint8Array([seq % 256])],
      flags: 1,
    },
    // The publisher's trace context travels with the record (Kafka: in its headers).
    trace: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
  };
}

function member(nodeId: string, sid: string, rooms: string[], gone = false): MembershipRecord {
  return {
    hub: "chat",
    nsp: "/",
    sid: SocketId(sid),
    owner: {
      region: "eastus",
      nodeId: NodeId(nodeId),
      incarnation: "i1",
      sessionId: SessionId(`s-${sid}`),
      linkId: "l1",
    },
    rooms: gone ? [] : rooms,
    snapshot: gone
      ? undefined
      : {
          id: sid,
          rooms,
          data: { name: sid },
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
  };
}

/**
 * The Replicator contract: every implementation must pass it (see the interface's doc comment).
 * `regions`: the regions the factory can place nodes in (the in-process bus has one).
 */
export function replicatorContract(factory: () => ReplicatorFactory, regions: [string, ...string[]]) {
  const started: Replicator[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((r) => r.close()));
  });
  const start = async (f: ReplicatorFactory, nodeId: string, region: string) => {
    const replicator = f.create(nodeId, region);
    const box = inbox();
    await replicator.start(box);
    started.push(replicator);
    return { replicator, box };
  };
  const [home, away = regions[0]] = regions;

  it("delivers a published record to every other node, with its bytes intact, and never back to its publisher", async () => {
    const f = factory();
    const a = await start(f, "a", home);
    const b = await start(f, "b", home);
    const c = await start(f, "c", away);
    await a.replicator.publish(record("a", home, "app1", 1));
    await until(() => b.box.records.length === 1 && c.box.records.length === 1, "b and c got the record");
    expect(asPublished(b.box.records[0]!)).toEqual(record("a", home, "app1", 1));
    expect(asPublished(c.box.records[0]!)).toEqual(record("a", home, "app1", 1));
    await b.replicator.publish(record("b", home, "app2", 1));
    await until(() => a.box.records.length === 1, "a got b's record");
    expect(a.box.records.map((r) => r.origin.nodeId)).toEqual(["b"]);
    expect(b.box.records.map((r) => r.origin.nodeId)).toEqual(["a"]);
  });

  it("keeps one app server's records in publish order", async () => {
    const f = factory();
    const a = await start(f, "a", home);
    const c = await start(f, "c", away);
    const published: Promise<void>[] = [];
    for (let seq = 1; seq <= 200; seq++) published.push(a.replicator.publish(record("a", home, "app1", seq)));
    await Promise.all(published);
    await until(() => c.box.records.length === 200, "all 200 records arrived");
    expect(c.box.records.map((r) => r.seq)).toEqual([...Array(200).keys()].map((i) => i + 1));
  });

  it("is ready once started, by its own region alone, and lists every other region in peers", async () => {
    const f = factory();
    const a = await start(f, "a", home);
    expect(a.replicator.status()).toMatchObject({ ready: true, bufferedBytes: 0 });
    const others = regions.filter((r) => r !== home);
    expect(Object.keys(a.replicator.status().peers).sort()).toEqual(others.sort());
    if (others.length === 0) return;
    // Ready even before any other region's node (and topics) exist; reading them once they do.
    await start(f, "c", away);
    await until(
      () => others.every((r) => a.replicator.status().peers[r]?.reachable === true),
      "a reads every other region",
      15_000,
    );
    expect(a.replicator.status().ready).toBe(true);
  });

  it("replicates membership and heartbeats, and a node that starts later reads the current view", async () => {
    const f = factory();
    const a = await start(f, "a", home);
    const b = await start(f, "b", away);
    a.replicator.publishMembership(member("a", "k1", ["k1", "red"]));
    a.replicator.publishMembership(member("a", "k2", ["k2"]));
    a.replicator.publishMembership(member("a", "k2", [], true));
    a.replicator.publishHeartbeat({
      incarnation: "i1",
      nodeId: NodeId("a"),
      region: home,
      url: "http://a",
      appServers: { chat: [AppServerId("app1")] },
      sessions: 1,
      at: Date.now(),
    });
    await until(
      () => b.box.members.length >= 2 && b.box.beats.some((h) => h.nodeId === "a"),
      "b got a's view",
    );
    expect(b.box.members.at(-1)).toMatchObject({ sid: "k2", snapshot: undefined });
    const late = await start(f, "late", away);
    // Read during start(): the latest value of each socket still present, k2 being gone.
    const alive = new Map<string, MembershipRecord>();
    for (const m of late.box.members) {
      if (m.snapshot) alive.set(m.sid, m);
      else alive.delete(m.sid);
    }
    expect([...alive.keys()]).toEqual(["k1"]);
    expect(alive.get("k1")!.rooms).toEqual(["k1", "red"]);
    expect(late.box.beats.map((h) => h.nodeId)).toContain("a");
    expect(a.box.members).toEqual([]);
  });
}
