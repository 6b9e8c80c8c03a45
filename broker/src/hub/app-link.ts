import type { WebSocket } from "ws";
import {
  decodeMessage,
  encodeMessage,
  ErrorCode,
  MessageType,
  RegioError,
  type Message,
} from "@regio/protocol";
import type { Logger } from "../logger.ts";

/**
 * The broker's end of one app server's link: frames in, frames out. A frame that cannot be decoded
 * is answered with an Error message and the link stays up: one bad frame must not cost the app
 * server its clients.
 */
export class AppLink {
  /** Client sessions bound to this link; used to spread new sessions over app servers. */
  sessionCount = 0;
  private messageHandler: (message: Message) => void = () => {};

  constructor(
    readonly id: string,
    readonly appServerId: string,
    private readonly ws: WebSocket,
    private readonly log: Logger,
    heartbeatTimeoutMs = 20_000,
  ) {
    ws.on("message", (data: Buffer, isBinary: boolean) => this.receive(data, isBinary));
    // An app server that stopped answering pings (hung, or cut off) must not keep its clients.
    let alive = true;
    ws.on("pong", () => (alive = true));
    const heartbeat = setInterval(() => {
      if (!alive) {
        this.log.warn({ link: id }, "app link missed its heartbeat, dropping it");
        return ws.terminate();
      }
      alive = false;
      ws.ping();
    }, heartbeatTimeoutMs / 2);
    heartbeat.unref();
    ws.once("close", () => clearInterval(heartbeat));
  }

  onMessage(handler: (message: Message) => void): void {
    this.messageHandler = handler;
  }

  onClose(handler: () => void): void {
    this.ws.once("close", handler);
  }

  get isOpen(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  send(message: Message): void {
    if (this.isOpen) this.ws.send(encodeMessage(message));
  }

  sendError(error: RegioError, ref?: number): void {
    this.send({
      type: MessageType.Error,
      code: error.code,
      message: error.message,
      retriable: error.retriable,
      ref,
    });
  }

  close(code = 1000, reason = ""): void {
    this.ws.close(code, reason);
  }

  /** Drops the connection at once (tests use it to model a link failure). */
  terminate(): void {
    this.ws.terminate();
  }

  private receive(data: Buffer, isBinary: boolean): void {
    let message: Message;
    try {
      if (!isBinary) throw new RegioError(ErrorCode.BadFrame, "app-link frames are binary");
      message = decodeMessage(data);
    } catch (error) {
      const regioError =
        error instanceof RegioError
          ? error
          : new RegioError(ErrorCode.BadFrame, String(error), { cause: error });
      this.log.warn({ link: this.id, err: regioError.message }, "bad app-link frame");
      this.sendError(regioError);
      return;
    }
    try {
      this.messageHandler(message);
    } catch (error) {
      // A bug handling one message must not take the node down; say so loudly instead.
      this.log.error({ link: this.id, type: message.type, err: error }, "failed to handle app-link message");
    }
  }
}
