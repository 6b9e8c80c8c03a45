import type { WebSocket } from "ws";
import {
  decodeMessage,
  encodeMessage,
  ErrorCode,
  MessageType,
  RegioError,
  type AppServerId,
  type Message,
  type Payload,
  type SessionId,
  type StreamId,
} from "@regio/protocol";
import { rawSocketOf } from "../internals/ws.ts";
import { LogThrottle } from "../log-throttle.ts";
import { LinkCork } from "@regio/protocol";
import type { Logger } from "../logger.ts";
import type { HubStats } from "../telemetry/hub-stats.ts";

export interface AppLinkOptions {
  /** A link that answers no ping for this long is dropped (default 20 s). */
  heartbeatTimeoutMs?: number;
  /**
   * Bytes written to the app server and not yet sent (it reads too slowly) at most: past it the link
   * is dropped (default 64 MiB). From an eighth of it, the link reports itself congested.
   */
  maxBufferedBytes?: number;
  /**
   * The SDK reads SessionMessages (it said so in its link request): the client messages of one
   * turn go to it in one frame (default false: one SessionMessage each, as every SDK reads).
   */
  readsSessionMessages?: boolean;
}

/** Bytes of client data held for one SessionMessages frame past which it is sent at once. */
const MAX_BATCHED_BYTES = 64 * 1024;

/**
 * The broker's end of one app server's link: frames in, frames out. A frame that cannot be decoded
 * is answered with an Error message and the link stays up: one bad frame must not cost the app
 * server its clients. The link serves client sessions only once the app server said Ready.
 */
export class AppLink {
  /** Client sessions bound to this link; used to spread new sessions over app servers. */
  sessionCount = 0;
  /** The app server's operation stream, from its Ready (undefined until then). */
  stream: StreamId | undefined;
  /** The last seq the stream had numbered when this link became ready. */
  lastSeqAtReady = 0;
  private messageHandler: (message: Message, frameBytes: number) => void = () => {};
  private congestionHandler: (congested: boolean) => void = () => {};
  private congested = false;
  /** A link that sends garbage must not flood the log: said once per interval. */
  private readonly throttle = new LogThrottle();
  private readonly maxBufferedBytes: number;
  /** A turn's frames leave in one write (see LinkCork), its batch of client messages last. */
  private readonly cork = new LinkCork(() => this.sendBatch());
  /** Whether client messages are gathered per turn into SessionMessages frames (see send). */
  private readonly batches: boolean;
  /** This turn's client messages not sent yet: `[sessionId, data, ...]` (see send). */
  private batch: (string | Payload)[] = [];
  private batchBytes = 0;
  /** Where frames in and out are counted (the hub's, once the link joined one). */
  private counters: HubStats["appLink"] = { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0 };

  constructor(
    readonly id: string,
    readonly appServerId: AppServerId,
    private readonly ws: WebSocket,
    private readonly log: Logger,
    options: AppLinkOptions = {},
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.batches = options.readsSessionMessages ?? false;
    ws.on("message", (data: Buffer, isBinary: boolean) => this.receive(data, isBinary));
    // An app server that stopped answering pings (hung, or cut off) must not keep its clients.
    let alive = true;
    ws.on("pong", () => (alive = true));
    const heartbeat = setInterval(
      () => {
        if (!alive) {
          this.log.warn({ link: id }, "app link missed its heartbeat, dropping it");
          return ws.terminate();
        }
        alive = false;
        ws.ping();
      },
      (options.heartbeatTimeoutMs ?? 20_000) / 2,
    );
    heartbeat.unref();
    ws.once("close", () => clearInterval(heartbeat));
    rawSocketOf(ws)?.on("drain", () => this.checkCongestion());
  }

  /** Frames and bytes in and out are added to these counters from now on. */
  countInto(counters: HubStats["appLink"]): void {
    this.counters = counters;
  }

  onMessage(handler: (message: Message, frameBytes: number) => void): void {
    this.messageHandler = handler;
  }

  onClose(handler: () => void): void {
    this.ws.once("close", handler);
  }

  /** Told when the app server falls behind reading (true) and when it caught up (false). */
  onCongestion(handler: (congested: boolean) => void): void {
    this.congestionHandler = handler;
  }

  get isOpen(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  /** Open, and the app server said it is ready to serve. */
  get isServing(): boolean {
    return this.isOpen && this.stream !== undefined;
  }

  /**
   * Sends a message; false when it was not sent (link closed, or it could not be encoded). On a link
   * whose SDK reads SessionMessages, a client's message without a trace context waits for the end of
   * the turn and leaves with the turn's others in one frame (one WebSocket frame for the node to
   * write and the app server to read, instead of one each); any other message sends them first, so
   * the link's order is the order of the calls.
   */
  send(message: Message): boolean {
    if (!this.isOpen) return false;
    if (
      this.batches &&
      message.type === MessageType.SessionMessage &&
      message.trace === undefined &&
      // The turn's end is scheduled (the cork's): the batch leaves then, with the turn's other frames.
      this.cork.beforeWrite(rawSocketOf(this.ws))
    ) {
      this.batch.push(message.sessionId, message.data);
      // Characters or bytes: a bound on what is held, not an exact count.
      this.batchBytes += message.data.length;
      if (this.batchBytes >= MAX_BATCHED_BYTES) this.sendBatch();
      return true;
    }
    this.sendBatch();
    return this.write(message);
  }

  /** The turn's client messages go now: one SessionMessages frame (a SessionMessage when alone). */
  private sendBatch(): void {
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    this.batchBytes = 0;
    if (batch.length === 2) {
      const [sessionId, data] = batch as [SessionId, Payload];
      this.write({ type: MessageType.SessionMessage, sessionId, data });
    } else this.write({ type: MessageType.SessionMessages, messages: batch as (SessionId | Payload)[] });
  }

  private write(message: Message): boolean {
    if (!this.isOpen) return false;
    let frame: Uint8Array;
    try {
      frame = encodeMessage(message);
    } catch (error) {
      this.log.error({ link: this.id, type: message.type, err: String(error) }, "could not encode a message");
      return false;
    }
    if (this.ws.bufferedAmount + frame.byteLength > this.maxBufferedBytes) {
      // The app server does not read: memory must not grow without bound. Its sessions end with the
      // link; it re-links, and its clients reconnect.
      this.log.warn(
        { link: this.id, bufferedBytes: this.ws.bufferedAmount },
        "app server reads too slowly, dropping its link",
      );
      this.ws.terminate();
      return false;
    }
    this.cork.beforeWrite(rawSocketOf(this.ws));
    this.ws.send(frame);
    this.counters.framesOut++;
    this.counters.bytesOut += frame.byteLength;
    this.checkCongestion();
    return true;
  }

  /** An Error message, answering one operation (`seq`) or one request (`requestId`) when given. */
  sendError(error: RegioError, answers: { seq?: number; requestId?: number } = {}): void {
    this.send({
      type: MessageType.Error,
      code: error.code,
      message: error.message,
      retriable: error.retriable,
      ...answers,
    });
  }

  close(code = 1000, reason = ""): void {
    this.sendBatch();
    this.ws.close(code, reason);
  }

  /** Drops the connection at once (tests use it to model a link failure). */
  terminate(): void {
    this.ws.terminate();
  }

  private checkCongestion(): void {
    const congested = this.ws.bufferedAmount > this.maxBufferedBytes / 8;
    if (congested === this.congested) return;
    this.congested = congested;
    this.congestionHandler(congested);
  }

  private receive(data: Buffer, isBinary: boolean): void {
    this.counters.framesIn++;
    this.counters.bytesIn += data.length;
    let message: Message;
    try {
      if (!isBinary) throw new RegioError(ErrorCode.BadFrame, "app-link frames are binary");
      message = decodeMessage(data);
    } catch (error) {
      const regioError =
        error instanceof RegioError
          ? error
          : new RegioError(ErrorCode.BadFrame, String(error), { cause: error });
      this.throttle.log("bad frame", (suppressed) =>
        this.log.warn({ link: this.id, err: regioError.message, suppressed }, "bad app-link frame"),
      );
      this.sendError(regioError);
      return;
    }
    if (message.type === MessageType.Ready) {
      if (this.stream === undefined) {
        this.stream = message.stream;
        this.lastSeqAtReady = message.lastSeq ?? 0;
      }
      return;
    }
    try {
      this.messageHandler(message, data.length);
    } catch (error) {
      // A bug handling one message must not take the node down; say so loudly instead.
      this.log.error({ link: this.id, type: message.type, err: error }, "failed to handle app-link message");
      const requestId = (message as { requestId?: unknown }).requestId;
      if (typeof requestId === "number") {
        this.sendError(new RegioError(ErrorCode.BadFrame, "the node could not answer this request"), {
          requestId,
        });
      }
    }
  }
}
