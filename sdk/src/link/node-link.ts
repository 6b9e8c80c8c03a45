import { EventEmitter } from "node:events";
import WebSocket from "ws";
import {
  appLinkPath,
  decodeMessage,
  encodeMessage,
  ErrorCode,
  LINK_FEATURES_HEADER,
  MessageType,
  RegioError,
  SESSION_MESSAGES_FEATURE,
  signLinkToken,
  type ErrorMessage,
  type Hello,
  type Message,
  type Payload,
  type SessionSend,
  SessionId,
  StreamId,
} from "@regio/protocol";
import { rawSocketOf } from "../internals/ws.ts";
import { activeTraceContext } from "../tracing/app-tracing.ts";
import { LinkCork } from "@regio/protocol";

export interface NodeLinkOptions {
  endpoint: URL;
  hub: string;
  accessKey: string;
  appServerId: string;
  /** This app server process's operation stream (told to the node in Ready). */
  stream: StreamId;
  /** The last seq the stream numbered so far: session data says which operation it follows. */
  lastSeq?: () => number;
  /** Reconnect backoff bounds in ms (default 100 .. 5000). */
  minReconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** A link that answers no ping for this long is considered dead (default 10 s). */
  heartbeatTimeoutMs?: number;
  /**
   * Bytes written to the link and not yet sent (the node reads too slowly) at most; past it the
   * link is dropped and re-made, and its sessions end (default 64 MiB). Volatile packets are dropped
   * as soon as a quarter of it is waiting.
   */
  maxBufferedBytes?: number;
}

/** How long close() waits for the node to answer the WebSocket close. */
const CLOSE_TIMEOUT_MS = 2000;

/** What a node accepts before it says (Hello.limits): the broker's defaults. */
export const DEFAULT_MAX_OPERATION_BYTES = 990_000;

export interface NodeLinkEvents {
  up: [hello: Hello];
  /** The node is draining: operations should go to another node from now on. */
  draining: [];
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
  /** A turn's frames leave in one write (see LinkCork). */
  private readonly cork = new LinkCork();
  /** The node's id, once it said hello. */
  nodeId: string | undefined;
  /** The node said it is draining (it will close): not a primary any more. */
  draining = false;
  /** Largest operation frame the node accepts. */
  maxOperationBytes = DEFAULT_MAX_OPERATION_BYTES;
  /** Whether the link's first failure of a streak was reported (one error per outage, not per retry). */
  private reportedUnreachable = false;

  constructor(private readonly options: NodeLinkOptions) {
    super();
  }

  get endpoint(): URL {
    return this.options.endpoint;
  }

  get isUp(): boolean {
    return this.up;
  }

  /** False while the node reads too slowly: volatile packets are dropped then, as socket.io does. */
  get writable(): boolean {
    return (this.ws?.bufferedAmount ?? 0) < this.maxBufferedBytes / 4;
  }

  private get maxBufferedBytes(): number {
    return this.options.maxBufferedBytes ?? 64 * 1024 * 1024;
  }

  /** An operation frame the outbox encoded once. */
  sendFrame(frame: Uint8Array): void {
    this.flushSessionData();
    if (this.up && this.ws?.readyState === WebSocket.OPEN) this.transmit(this.ws, frame);
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
   * with the same flags (and in the same trace) travel in one SessionSend frame. Any other message
   * flushes first, so order on the link is exactly the order of the calls. The frame carries the
   * trace context active where the app wrote it (an ack inside a traced handler closes its loop).
   */
  sendSessionData(sessionId: SessionId, part: Payload, flags: number): void {
    // The operation this packet follows: the node writes it after that one (see SessionSend.after).
    const after = this.options.lastSeq?.() || undefined;
    const pending = this.pendingSend;
    const trace = activeTraceContext();
    if (
      pending &&
      pending.sessionId === sessionId &&
      pending.flags === flags &&
      pending.after === after &&
      pending.trace?.traceparent === trace?.traceparent
    ) {
      pending.data.push(part);
      return;
    }
    this.flushSessionData();
    this.pendingSend = { type: MessageType.SessionSend, sessionId, data: [part], flags, trace, after };
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
      // A node that does not answer the close (hung, cut off) does not keep the app server waiting.
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, CLOSE_TIMEOUT_MS).unref();
    });
  }

  private flushSessionData(): void {
    const pending = this.pendingSend;
    if (!pending) return;
    this.pendingSend = undefined;
    this.write(pending);
  }

  private write(message: Message): void {
    const ws = this.ws;
    if (!this.up || ws?.readyState !== WebSocket.OPEN) return;
    let frame: Uint8Array;
    try {
      frame = encodeMessage(message);
    } catch (cause) {
      // What cannot be encoded (data MessagePack cannot carry) is this message's problem only.
      this.emit(
        "error",
        new RegioError(ErrorCode.BadFrame, `message type ${message.type} could not be encoded`, { cause }),
      );
      return;
    }
    this.transmit(ws, frame);
  }

  private transmit(ws: WebSocket, frame: Uint8Array): void {
    if (ws.bufferedAmount + frame.byteLength > this.maxBufferedBytes) {
      // The node does not read: memory must not grow without bound. Its sessions end with the link;
      // unacknowledged operations stay in the outbox and go again on the next link.
      this.emit(
        "error",
        new RegioError(
          ErrorCode.LinkDown,
          `${this.options.endpoint.href} reads too slowly (${ws.bufferedAmount} bytes waiting): re-linking`,
        ),
      );
      ws.terminate();
      return;
    }
    this.cork.beforeWrite(rawSocketOf(ws));
    ws.send(frame);
  }

  private connect(): void {
    const { endpoint, hub, accessKey, appServerId } = this.options;
    const url = new URL(appLinkPath(hub), endpoint);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    // A fresh short-lived token for every attempt: a token never outlives a few minutes.
    const token = signLinkToken(accessKey, { hub, sub: appServerId });
    const ws = new WebSocket(url, {
      headers: {
        authorization: `Bearer ${token}`,
        // This SDK reads several client messages in one frame (a node that does not know this sends one each).
        [LINK_FEATURES_HEADER]: SESSION_MESSAGES_FEATURE,
      },
    });
    this.ws = ws;
    ws.binaryType = "nodebuffer";
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => this.emit("error", refusal(res.statusCode ?? 0, body)));
    });
    ws.on("error", (error: Error) => {
      // Followed by "close", which schedules the re-link. Said once per outage, with the URL.
      if (this.reportedUnreachable || this.up) return;
      this.reportedUnreachable = true;
      this.emit(
        "error",
        new RegioError(ErrorCode.LinkDown, `cannot reach ${endpoint.origin}: ${error.message}`, {
          cause: error,
        }),
      );
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
    if (message.type === MessageType.SessionMessages) {
      // Each client message as if it had come alone: one that fails to be handled fails alone.
      const pairs = message.messages;
      for (let i = 0; i < pairs.length; i += 2) {
        const sessionId = pairs[i] as SessionId;
        this.handleSafely({ type: MessageType.SessionMessage, sessionId, data: pairs[i + 1]! });
      }
      return;
    }
    this.handleSafely(message);
  }

  private handleSafely(message: Message): void {
    try {
      this.handle(message);
    } catch (cause) {
      // Whatever one message makes throw (the SDK, or an app handler socket.io ran for it) is that
      // message's problem: reported, and the link and the process go on serving everyone else.
      const error = new RegioError(
        ErrorCode.HandlerFailed,
        `handling message type ${message.type} failed: ${String(cause)}`,
        {
          cause,
        },
      );
      this.emit("error", error);
    }
  }

  private handle(message: Message): void {
    switch (message.type) {
      case MessageType.Hello:
        this.onHello(message);
        return;
      case MessageType.Draining:
        this.draining = true;
        this.emit("draining");
        return;
      case MessageType.Error:
        // An answer to one operation or request is its owner's business; the rest is the link's.
        if (message.seq !== undefined || message.requestId !== undefined) this.emit("message", message);
        else this.emit("error", brokerError(message));
        return;
      default:
        this.emit("message", message);
    }
  }

  private onHello(hello: Hello): void {
    this.nodeId = hello.nodeId;
    if (hello.limits) this.maxOperationBytes = hello.limits.maxOperationBytes;
    const first = !this.up;
    if (first) {
      this.draining = false;
      // Until the node hears this it hands the link no client sessions.
      this.up = true;
      this.write({ type: MessageType.Ready, stream: this.options.stream, lastSeq: this.options.lastSeq?.() });
      // On its way before "up" is told: an app told its link is up may have clients connect at once.
      this.cork.flush();
    }
    this.reportedUnreachable = false;
    this.attempt = 0;
    // A later Hello on the same link only updates the list of the region's nodes.
    this.emit(first ? "up" : "nodes", hello);
  }

  private startHeartbeat(ws: WebSocket): void {
    let alive = true;
    ws.on("pong", () => (alive = true));
    const timeout = this.options.heartbeatTimeoutMs ?? 10_000;
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

/** An Error message from the node as the SDK's typed error. */
export function brokerError(message: ErrorMessage): RegioError {
  const code = Object.values(ErrorCode).find((c) => c === message.code) ?? ErrorCode.BadFrame;
  return new RegioError(code, `broker: ${message.message}`, { retriable: message.retriable });
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
