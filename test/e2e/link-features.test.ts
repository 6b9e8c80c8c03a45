import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "node:net";
import WebSocket from "ws";
import type { BrokerHandle } from "@regio/broker";
import {
  appLinkPath,
  clientPath,
  decodeMessage,
  encodeMessage,
  LINK_FEATURES_HEADER,
  MessageType,
  SESSION_MESSAGES_FEATURE,
  signLinkToken,
  StreamId,
  type Message,
} from "@regio/protocol";
import { ACCESS_KEY, HUB, startTestBroker } from "../support/regio-harness.ts";
import { until } from "../support/events.ts";

/**
 * A node sends an app server several client messages in one frame only when its SDK asked for it
 * (LINK_FEATURES_HEADER in the link request): an SDK that does not know SessionMessages (any SDK
 * before them) gets one SessionMessage per client message, as before.
 */
describe("client messages to an app link, with and without the session-messages feature", () => {
  let broker: BrokerHandle;
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(async () => {
    for (const client of clients) client.terminate();
    await broker.close();
  });

  /** An app link that says Ready; every frame it receives, in order. */
  // Each test on a hub of its own: its client's session goes to its link, whatever the other's state.
  async function appLink(hub: string, features?: string): Promise<{ ws: WebSocket; frames: Message[] }> {
    const token = signLinkToken(ACCESS_KEY, { hub, sub: `raw-${features ?? "none"}` });
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (features) headers[LINK_FEATURES_HEADER] = features;
    const ws = new WebSocket(broker.url.replace("http", "ws") + appLinkPath(hub), { headers });
    const frames: Message[] = [];
    ws.on("message", (data: Buffer) => {
      const message = decodeMessage(data);
      if (message.type === MessageType.Hello)
        ws.send(encodeMessage({ type: MessageType.Ready, stream: StreamId(`raw-${features ?? "none"}`) }));
      frames.push(message);
    });
    await until(() => frames.some((m) => m.type === MessageType.Hello), "the node said Hello");
    return { ws, frames };
  }

  /** A raw Engine.IO WebSocket client that sends `count` messages in one TCP write; their texts. */
  async function sendInOneWrite(hub: string, count: number): Promise<string[]> {
    const url = `${broker.url.replace("http", "ws")}${clientPath(hub)}/?EIO=4&transport=websocket`;
    const client = new WebSocket(url);
    clients.push(client);
    await new Promise((resolve) => client.once("message", resolve)); // Engine.IO's open packet
    const texts = Array.from({ length: count }, (_, i) => `2["m",${i}]`);
    const socket = (client as unknown as { _socket: Socket })._socket;
    socket.cork();
    for (const text of texts) client.send(`4${text}`);
    socket.uncork();
    return texts;
  }

  /** The client messages the link received, in order, whatever frames carried them. */
  function clientMessages(frames: Message[]): string[] {
    return frames.flatMap((m) =>
      m.type === MessageType.SessionMessage
        ? [m.data as string]
        : m.type === MessageType.SessionMessages
          ? m.messages.filter((_, i) => i % 2 === 1).map(String)
          : [],
    );
  }

  it("sends an app link that did not ask for them one SessionMessage per client message", async () => {
    const link = await appLink(HUB);
    const texts = await sendInOneWrite(HUB, 10);
    await until(() => clientMessages(link.frames).length === 10, "ten client messages");
    expect(clientMessages(link.frames)).toEqual(texts);
    expect(link.frames.some((m) => m.type === MessageType.SessionMessages)).toBe(false);
    link.ws.terminate();
  });

  it("sends an app link that asked for them the messages of one read in SessionMessages, in order", async () => {
    const link = await appLink(`${HUB}2`, SESSION_MESSAGES_FEATURE);
    const texts = await sendInOneWrite(`${HUB}2`, 10);
    await until(() => clientMessages(link.frames).length === 10, "ten client messages");
    expect(clientMessages(link.frames)).toEqual(texts);
    expect(link.frames.some((m) => m.type === MessageType.SessionMessages)).toBe(true);
    link.ws.terminate();
  });
});
