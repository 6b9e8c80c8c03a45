import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import {
  decodeMessage,
  encodeMessage,
  LINK_FEATURES_HEADER,
  MessageType,
  NodeId,
  type Message,
} from "@regio/protocol";

/** One app server's link to a scripted node: send it anything, read what it answers. */
export interface ScriptedLink {
  ws: WebSocket;
  /** What the app server's link request said it reads (LINK_FEATURES_HEADER), as sent. */
  features: string | undefined;
  /** A message, or raw bytes (a frame no node should send). */
  send(message: Message | Uint8Array): void;
  /** The next message of `type` the app server sent, including ones that arrived before the call. */
  next<T extends Message["type"]>(type: T, timeoutMs?: number): Promise<Extract<Message, { type: T }>>;
}

export interface ScriptedNode {
  url: string;
  /** The next app server link (after the app server said Ready), including one that came before. */
  nextLink(): Promise<ScriptedLink>;
  close(): Promise<void>;
}

/**
 * A node that is not one, for tests of what an app server does with frames no real node sends: a
 * WebSocket server on 127.0.0.1 that says a proper Hello to every app link and then sends what the
 * test scripts.
 */
export async function startScriptedNode(): Promise<ScriptedNode> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ready: ScriptedLink[] = [];
  const waiting: Array<(link: ScriptedLink) => void> = [];
  server.on("connection", (ws, request) => {
    const received: Message[] = [];
    const readers: Array<{ type: number; resolve: (message: Message) => void }> = [];
    const features = request.headers[LINK_FEATURES_HEADER];
    const link: ScriptedLink = {
      ws,
      features: Array.isArray(features) ? features.join(",") : features,
      send: (message) => ws.send(message instanceof Uint8Array ? message : encodeMessage(message)),
      next: (type, timeoutMs = 5000) =>
        new Promise((resolve, reject) => {
          const i = received.findIndex((m) => m.type === type);
          if (i >= 0) return resolve(received.splice(i, 1)[0] as never);
          const timer = setTimeout(
            () => reject(new Error(`no message of type ${type} from the app server`)),
            timeoutMs,
          );
          readers.push({
            type,
            resolve: (message) => {
              clearTimeout(timer);
              resolve(message as never);
            },
          });
        }),
    };
    ws.on("message", (data: Buffer) => {
      const message = decodeMessage(data);
      if (message.type === MessageType.Ready) {
        const waiter = waiting.shift();
        if (waiter) waiter(link);
        else ready.push(link);
        return;
      }
      const i = readers.findIndex((r) => r.type === message.type);
      if (i >= 0) readers.splice(i, 1)[0]!.resolve(message);
      else received.push(message);
    });
    link.send({
      type: MessageType.Hello,
      nodeId: NodeId("scripted"),
      region: "test",
      nodes: [{ nodeId: NodeId("scripted"), url, region: "test" }],
    });
  });
  return {
    url,
    nextLink: () =>
      new Promise((resolve) => {
        const link = ready.shift();
        if (link) resolve(link);
        else waiting.push(resolve);
      }),
    async close() {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
