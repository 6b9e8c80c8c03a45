import WebSocket from "ws";
import { appLinkPath, decodeMessage, type Message } from "@regio/protocol";
import { HUB } from "./regio-harness.ts";

export interface LinkAttempt {
  status: number;
  body: { code?: string; message?: string };
  ws: WebSocket;
  /** The next message of `type`, including ones that arrived before the call. */
  next(type: number): Promise<Message>;
}

/** A raw WebSocket upgrade to the app-link endpoint; resolves with the HTTP refusal or the open link. */
export function rawLink(broker: { url: string }, token?: string, hub = HUB): Promise<LinkAttempt> {
  const url = broker.url.replace("http", "ws") + appLinkPath(hub);
  const ws = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const received: Message[] = [];
  const waiters: Array<{ type: number; resolve: (m: Message) => void }> = [];
  ws.on("message", (data: Buffer) => {
    const message = decodeMessage(data);
    const i = waiters.findIndex((w) => w.type === message.type);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(message);
    else received.push(message);
  });
  const next = (type: number) =>
    new Promise<Message>((resolve) => {
      const i = received.findIndex((m) => m.type === type);
      if (i >= 0) resolve(received.splice(i, 1)[0]!);
      else waiters.push({ type, resolve });
    });
  return new Promise((resolve, reject) => {
    ws.on("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), ws, next }));
    });
    ws.on("open", () => resolve({ status: 101, body: {}, ws, next }));
    ws.on("error", reject);
  });
}
