import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import {
  decodeMessage,
  MessageType,
  namesLinkFeature,
  SESSION_MESSAGES_FEATURE,
  SessionId,
  AppServerId,
  type Message,
} from "@regio/protocol";
import { AppLink } from "../src/hub/app-link.ts";
import { createLogger } from "../src/logger.ts";

const s1 = SessionId("s1");
const s2 = SessionId("s2");
const message = (sessionId: SessionId, data: string): Message => ({
  type: MessageType.SessionMessage,
  sessionId,
  data,
});

/**
 * The node's end of a link on a real WebSocket: what the app server's end receives, frame by frame,
 * when the node sends client messages one turn at a time.
 */
describe("AppLink: a turn's client messages in one SessionMessages frame", () => {
  let server: WebSocketServer;
  let appEnd: WebSocket;
  let nodeEnd: WebSocket;
  const frames: Message[] = [];

  beforeEach(async () => {
    frames.length = 0;
    server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise((resolve) => server.once("listening", resolve));
    const accepted = new Promise<WebSocket>((resolve) => server.once("connection", resolve));
    appEnd = new WebSocket(`ws://127.0.0.1:${(server.address() as { port: number }).port}`);
    appEnd.on("message", (data: Buffer) => frames.push(decodeMessage(data)));
    nodeEnd = await accepted;
    await new Promise((resolve) => appEnd.once("open", resolve));
  });
  afterEach(async () => {
    appEnd.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  function link(readsSessionMessages: boolean): AppLink {
    return new AppLink("n/1", AppServerId("app"), nodeEnd, createLogger({}, "silent"), {
      readsSessionMessages,
    });
  }

  /** Waits until `count` frames arrived. */
  async function received(count: number): Promise<Message[]> {
    while (frames.length < count) await new Promise((resolve) => appEnd.once("message", resolve));
    return frames;
  }

  it("gathers a turn's messages, in order; any other message sends those before it first", async () => {
    const node = link(true);
    node.send(message(s1, "42a"));
    node.send(message(s2, "42b"));
    node.send(message(s1, "42c"));
    node.send({ type: MessageType.SessionClosed, sessionId: s2, reason: "transport close" });
    node.send(message(s1, "42d"));
    // With a trace context a message goes alone (SessionMessages carry none), after the others.
    const trace = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
    node.send({ ...message(s1, "42e"), trace } as Message);
    node.send(message(s2, "42f"));
    node.send(message(s2, "42g"));
    expect(await received(5)).toEqual([
      { type: MessageType.SessionMessages, messages: [s1, "42a", s2, "42b", s1, "42c"] },
      { type: MessageType.SessionClosed, sessionId: s2, reason: "transport close" },
      message(s1, "42d"),
      { ...message(s1, "42e"), trace },
      { type: MessageType.SessionMessages, messages: [s2, "42f", s2, "42g"] },
    ]);
    // The next turn starts a new frame.
    node.send(message(s1, "42h"));
    expect((await received(6))[5]).toEqual(message(s1, "42h"));
  });

  it("sends an SDK that did not ask for them one SessionMessage per client message", async () => {
    const node = link(false);
    for (const data of ["42a", "42b", "42c"]) node.send(message(s1, data));
    expect(await received(3)).toEqual([message(s1, "42a"), message(s1, "42b"), message(s1, "42c")]);
  });

  it("sends what it gathered at once past 64 KiB, and the rest at the turn's end", async () => {
    const node = link(true);
    const big = "4" + "x".repeat(40 * 1024);
    node.send(message(s1, big));
    node.send(message(s1, big));
    node.send(message(s1, "42after"));
    expect(await received(2)).toEqual([
      { type: MessageType.SessionMessages, messages: [s1, big, s1, big] },
      message(s1, "42after"),
    ]);
  });

  it("reads the SDK's link request header", () => {
    expect(namesLinkFeature(SESSION_MESSAGES_FEATURE, SESSION_MESSAGES_FEATURE)).toBe(true);
    expect(
      namesLinkFeature(`other, ${SESSION_MESSAGES_FEATURE.toUpperCase()}`, SESSION_MESSAGES_FEATURE),
    ).toBe(true);
    expect(namesLinkFeature(["a", SESSION_MESSAGES_FEATURE], SESSION_MESSAGES_FEATURE)).toBe(true);
    expect(namesLinkFeature(undefined, SESSION_MESSAGES_FEATURE)).toBe(false);
    expect(namesLinkFeature("session-messages-v2", SESSION_MESSAGES_FEATURE)).toBe(false);
  });
});
