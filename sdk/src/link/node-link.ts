import { EventEmitter } from "node:events";
import WebSocket from "ws";
import {
  appLinkPath,
  decodeMessage,
  encodeMessage,
  ErrorCode,
  MessageType,
  RegioError,
  signLinkToken,
  type Hello,
  type Message,
  type Payload,
  type SessionSend,
} from "@regio/protocol";

export interface NodeLinkOptions {
  endpoint: URL;
  hub: string;
  accessKey: string;
  appServerId: string;
  /** Reconnect backoff bounds in ms (default 100 .. 5000). */
  minReconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** A link that answers no ping for this long is considered dead (default 20 s). */
  heartbeatTimeoutMs?: number;
}

export interface NodeLinkEvents {
  up: [hello: Hello];
  nodes: [hello: Hello];
  down: [reason: string];
  message: [message: Message];
  error: [error: RegioError];
}

/**
 * One app server's link to one broker node: a WebSocket that re-links with backoff until closed,
 * and a heartbeat that drops it when the node stops answering. What must survive a re-link (the
 * outbox of operations, pending requests) is kept by the LinkSet above it.
 */
export class NodeLink extends EventEmitter<NodeLinkEvents> {
  private ws: WebSocket | undefined;
  private up = false;
  private closed = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Session data of the current tick, sent as one frame per session (see sendSessionData). */
  private pendingSend: SessionSend | undefined;
  /** The node's id, once it said hello. */
  nodeId: string | undefined;

  constructor(private readonly options: NodeLinkOptions) {
    super();
  }

  get endpoint(): URL {
    return this.options.endpoint;
  }

  get isUp(): boolean {
    return this.up;
  }

  start(): void {
    this.connect();
  }

  /**
   * Session-bound messages are only meaningful while the link is up: the broker closes a link's
   * client sessions when the link drops, so there is nothing to re-send them to.
   */
  send(message: Message): void {
    this.flushSessionData();
    this.write(message);
  }

  /**
   * socket.io writes a packet's parts one by one; parts written to one session in the same tick
   * with the same flags travel in one SessionSend frame. Any other message flushes first, so order
   * on the link is exactly the order of the calls.
   */
  sendSessionData(sessionId: string, part: Payload, flags: number): void {
    const pending = this.pendingSend;
    if (pending && pending.sessionId === sessionId && pending.flags === flags) {
      pending.data.push(part);
      return;
    }
    this.flushSessionData();
    this.pendingSend = { type: MessageType.SessionSend, sessionId, data: [part], flags };
    queueMicrotask(() => this.flushSessionData());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.flushSessionData();
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeat);
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once("close", () => resolve());
      ws.close(1000, "app server closing");
    });
  }

  private flushSessionData(): void {
    const pending = this.pendingSend;
    if (!pending) return;
    this.pendingSend = undefined;
    this.write(pending);
  }

  private write(message: Message): void {
    if (this.up && this.ws?.readyState === WebSocket.OPEN) this.ws.send(encodeMessage(message));
  }

  private connect(): void {
    const { endpoint, hub, accessKey, appServerId } = this.options;
    const url = new URL(appLinkPath(hub), endpoint);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    // A fresh short-lived token for every attempt: a token never outlives a few minutes.
    const token = signLinkToken(accessKey, { hub, sub: appServerId });
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    this.ws = ws;
    ws.binaryType = "nodebuffer";
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => this.emit("error", refusal(res.statusCode ?? 0, body)));
    });
    ws.on("error", () => {
      /* followed by "close", which schedules the re-link */
    });
    ws.on("open", () => this.startHeartbeat(ws));
    ws.on("message", (data: Buffer) => this.receive(data));
    ws.on("close", () => this.onClose(ws));
  }

  private receive(data: Buffer): void {
    let message: Message;
    try {
      message = decodeMessage(data);
    } catch (error) {
      this.emit("error", error as RegioError);
      return;
    }
    switch (message.type) {
      case MessageType.Hello:
        this.onHello(message);
        return;
      case MessageType.Error:
        this.emit("error", new RegioError(ErrorCode.BadFrame, `broker: ${message.code}: ${message.message}`));
        return;
      default:
        this.emit("message", message);
    }
  }

  private onHello(hello: Hello): void {
    this.nodeId = hello.nodeId;
    const first = !this.up;
    this.up = true;
    this.attempt = 0;
    // A later Hello on the same link only updates the list of the region's nodes.
    this.emit(first ? "up" : "nodes", hello);
  }

  private startHeartbeat(ws: WebSocket): void {
    let alive = true;
    ws.on("pong", () => (alive = true));
    const timeout = this.options.heartbeatTimeoutMs ?? 20_000;
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, timeout / 2);
    this.heartbeat.unref();
  }

  private onClose(ws: WebSocket): void {
    if (ws !== this.ws) return;
    clearInterval(this.heartbeat);
    this.pendingSend = undefined;
    const wasUp = this.up;
    this.up = false;
    if (wasUp) this.emit("down", "link closed");
    if (this.closed) return;
    const min = this.options.minReconnectDelayMs ?? 100;
    const max = this.options.maxReconnectDelayMs ?? 5000;
    const delay = Math.min(max, min * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }
}

function refusal(status: number, body: string): RegioError {
  let parsed: { code?: string; message?: string } = {};
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    /* not JSON: keep the raw text */
  }
  const code = Object.values(ErrorCode).find((c) => c === parsed.code) ?? ErrorCode.TokenInvalid;
  return new RegioError(code, `broker refused the app link (HTTP ${status}): ${parsed.message ?? body}`);
}
