import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Server } from "socket.io";
import { useRegio, type RegioHandle } from "@regio/sdk";
import {
  formatConnectionString,
  MessageType,
  NodeId,
  SESSION_MESSAGES_FEATURE,
  SessionId,
  type Handshake,
} from "@regio/protocol";
import { ACCESS_KEY, HUB } from "../support/regio-harness.ts";
import { startScriptedNode, type ScriptedLink, type ScriptedNode } from "../support/scripted-node.ts";

/**
 * An app server trusts its node to speak the protocol, not to be bug-free: frames no real node sends
 * (found by test/fuzz) cost the app server nothing but the one session or message they are about.
 */
describe("an app server whose node sends frames no node should", () => {
  let node: ScriptedNode;
  let io: Server;
  let regio: RegioHandle;
  let link: ScriptedLink;

  beforeEach(async () => {
    node = await startScriptedNode();
    io = new Server();
    io.on("connection", (socket) =>
      socket.on("echo", (value: unknown, ack: (v: unknown) => void) => ack(value)),
    );
    regio = useRegio(io, { hub: HUB, connectionString: formatConnectionString(node.url, ACCESS_KEY) });
    link = await node.nextLink();
  });
  afterEach(async () => {
    // The node goes first: a link that a throwing handler left stuck would never see its close answered.
    await node.close();
    await io.close();
    await regio.close();
  });

  const handshake = (url: string): Handshake => ({
    url,
    headers: { host: "127.0.0.1" },
    remoteAddress: "127.0.0.1",
    secure: false,
    transport: "websocket",
    protocol: 4,
  });

  /** A new session connects to "/" and gets an echo answered. */
  async function stillServes(id: string): Promise<void> {
    const sessionId = SessionId(id);
    link.send({
      type: MessageType.SessionOpen,
      sessionId,
      handshake: handshake(`/?EIO=4&transport=websocket`),
    });
    link.send({ type: MessageType.SessionMessage, sessionId, data: "0" });
    expect((await link.next(MessageType.SessionSend)).data[0]).toMatch(/^0\{"sid":/);
    link.send({ type: MessageType.SessionMessage, sessionId, data: '21["echo","still here"]' });
    expect((await link.next(MessageType.SessionSend)).data).toEqual(['31["still here"]']);
  }

  /** The parts of the SessionSends of `sessionId`, until `count` arrived. */
  async function sent(count: number): Promise<unknown[]> {
    const parts: unknown[] = [];
    while (parts.length < count) parts.push(...(await link.next(MessageType.SessionSend)).data);
    return parts;
  }

  it("reads a SessionMessages frame (it asks for them) as its client messages, in order", async () => {
    expect(link.features?.split(",")).toContain(SESSION_MESSAGES_FEATURE);
    const sessionId = SessionId("batched");
    link.send({
      type: MessageType.SessionOpen,
      sessionId,
      handshake: handshake("/?EIO=4&transport=websocket"),
    });
    link.send({ type: MessageType.SessionMessage, sessionId, data: "0" });
    expect((await sent(1))[0]).toMatch(/^0\{"sid":/);
    link.send({
      type: MessageType.SessionMessages,
      messages: [
        sessionId,
        '21["echo","a"]',
        SessionId("unknown"),
        '22["echo","x"]',
        sessionId,
        '23["echo","b"]',
      ],
    });
    // A message of a session the app server does not have is dropped, as a SessionMessage of it is.
    expect(await sent(2)).toEqual(['31["a"]', '33["b"]']);
    await stillServes("after");
  });

  it("opens a session whose handshake URL does not parse, with an empty query", async () => {
    const sessionId = SessionId("odd");
    link.send({ type: MessageType.SessionOpen, sessionId, handshake: handshake("http://") });
    link.send({ type: MessageType.SessionMessage, sessionId, data: "0" });
    expect((await link.next(MessageType.SessionSend)).data[0]).toMatch(/^0\{"sid":/);
    expect([...io.of("/").sockets.values()][0]!.handshake.query).toEqual({});
    await stillServes("good");
  });

  it("links only to the nodes of a Hello whose URLs it can link to, and keeps serving", async () => {
    const odd = ["/relative", "mailto:x", "http://[", "http://256.256.256.256/", "file:///etc/passwd", ""];
    link.send({
      type: MessageType.Hello,
      nodeId: NodeId("scripted"),
      region: "test",
      nodes: [
        ...odd.map((url, i) => ({ nodeId: NodeId(`odd${i}`), url, region: "test" })),
        { nodeId: NodeId("scripted"), url: node.url, region: "test" },
      ],
    });
    await stillServes("after-hello");
  });

  it('delivers no serverSideEmit of a reserved event or of an "error" nobody listens for', async () => {
    const seen: unknown[] = [];
    io.of("/").on("fuzz", (...args: unknown[]) => seen.push(args));
    for (const event of ["error", "connection", "connect", "new_namespace"]) {
      link.send({ type: MessageType.ServerSideEmitDeliver, nsp: "/", args: [event, "not a socket"] });
      link.send({
        type: MessageType.ServerSideEmitDeliver,
        nsp: "/",
        args: [event, "not a socket"],
        requestId: 7,
      });
    }
    link.send({ type: MessageType.ServerSideEmitDeliver, nsp: "/", args: ["fuzz", 1] });
    await stillServes("after-reserved");
    expect(seen).toEqual([[1]]);
    const errors: unknown[] = [];
    io.of("/").on("error", (value: unknown) => errors.push(value));
    link.send({ type: MessageType.ServerSideEmitDeliver, nsp: "/", args: ["error", "heard"] });
    await stillServes("after-heard-error");
    expect(errors).toEqual(["heard"]);
  });

  it("takes a server count no hub has for unknown (1), and completes a broadcast with ack", async () => {
    const counted = io.of("/").adapter.serverCount();
    const { requestId } = await link.next(MessageType.ServerCount);
    link.send({ type: MessageType.ServerCountResult, requestId, count: 2 ** 53 - 1 });
    expect(await counted).toBe(1);
    // socket.io's broadcast with ack waits for one count per server: it is not kept waiting (or looping).
    const answered = new Promise<unknown[]>((resolve) =>
      io.timeout(5000).emit("question", (_error: Error | null, responses: unknown[]) => resolve(responses)),
    );
    const broadcast = await link.next(MessageType.BroadcastWithAck);
    link.send({ type: MessageType.BroadcastAckCount, requestId: broadcast.requestId, clientCount: 0 });
    const count = await link.next(MessageType.ServerCount);
    link.send({ type: MessageType.ServerCountResult, requestId: count.requestId, count: -5 });
    expect(await answered).toEqual([]);
  });
});
