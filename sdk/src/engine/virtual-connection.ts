import { EventEmitter } from "node:events";
import {
  MessageType,
  SendFlags,
  type Message,
  type Payload,
  type SessionOpen,
  SessionId,
} from "@regio/protocol";

/** Where a virtual connection's writes go: the link to the node that holds the client session. */
export interface SessionWriter {
  sendSessionData(sessionId: SessionId, part: Payload, flags: number): void;
  send(message: Message): void;
  /** False while the link is congested: socket.io drops volatile packets then. */
  readonly writable: boolean;
}

/** The parts of Node's IncomingMessage that socket.io reads to build `socket.handshake`. */
export interface HandshakeRequest {
  method: "GET";
  url: string;
  headers: Record<string, string | string[]>;
  connection: { encrypted: boolean };
  socket: { encrypted: boolean };
  _query: Record<string, string>;
}

type ReadyState = "open" | "closing" | "closed";

/**
 * Stands in for an engine.io Socket inside the app server: socket.io's Client reads and writes it
 * exactly as it would a real client connection, while the real connection lives on a broker node.
 * It implements what socket.io uses: `id`, `protocol`, `request`, `remoteAddress`, `readyState`,
 * `transport.{name,writable}`, `upgraded`, `write()`, `close()`, and the events "data", "message",
 * "upgrade", "close"; and engine.io's "packet" / "packetCreate" for each message received / sent.
 */
export class VirtualConnection extends EventEmitter {
  readonly id: SessionId;
  readonly protocol: number;
  readonly remoteAddress: string;
  readonly request: HandshakeRequest;
  readyState: ReadyState = "open";
  upgraded = false;
  /**
   * Writable while the link to the node is: volatile packets are dropped here when the link is
   * congested, and by the broker when the client's own transport cannot take them.
   */
  transport: { name: string; readonly writable: boolean };

  constructor(
    open: SessionOpen,
    /** The link to the node that holds this session: everything about the session goes through it. */
    readonly link: SessionWriter,
  ) {
    super();
    const { handshake } = open;
    this.id = open.sessionId;
    this.protocol = handshake.protocol;
    this.remoteAddress = handshake.remoteAddress;
    this.transport = transportOf(handshake.transport, link);
    const query = queryOf(handshake.url);
    this.request = {
      method: "GET",
      url: handshake.url,
      headers: handshake.headers,
      connection: { encrypted: handshake.secure },
      socket: { encrypted: handshake.secure },
      _query: query,
    };
  }

  write(data: Payload, options?: { compress?: boolean; volatile?: boolean }, callback?: () => void): this {
    if (this.readyState !== "open") return this;
    // As engine.io's Socket does for every message it sends: tools built on it (socket.io's admin
    // UI) count packets and bytes from this event.
    this.emit("packetCreate", { type: "message", data, options });
    const flags =
      (options?.compress === false ? 0 : SendFlags.compress) | (options?.volatile ? SendFlags.volatile : 0);
    this.link.sendSessionData(this.id, data, flags);
    if (callback) process.nextTick(callback);
    return this;
  }

  send(data: Payload, options?: { compress?: boolean; volatile?: boolean }, callback?: () => void): this {
    return this.write(data, options, callback);
  }

  /** The app server closes the connection: the broker flushes what was written, then closes the client. */
  close(): void {
    if (this.readyState !== "open") return;
    this.readyState = "closing";
    this.link.send({ type: MessageType.SessionClose, sessionId: this.id });
    process.nextTick(() => this.onClosed("forced close"));
  }

  /**
   * Messages that arrive while the app's engine middlewares still run (before socket.io has the
   * connection) wait here, in order; `accept()` hands them over.
   */
  private held: Payload[] | undefined = [];

  /** socket.io has the connection now: what arrived meanwhile is delivered, in order. */
  accept(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const data of held) this.onMessage(data);
  }

  /** The broker reports a message from the client. */
  onMessage(data: Payload): void {
    if (this.held) {
      this.held.push(data);
      return;
    }
    if (this.readyState !== "open") return;
    // socket.io on Node hands binary payloads to the app as Buffer: keep that.
    const payload =
      typeof data === "string" ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    // engine.io's Socket announces every packet it receives before it handles it (see write()).
    this.emit("packet", { type: "message", data: payload });
    this.emit("data", payload);
    this.emit("message", payload);
  }

  onUpgraded(transport: string): void {
    this.transport = transportOf(transport, this.link);
    this.upgraded = true;
    this.emit("upgrade", this.transport);
  }

  /** The client's connection ended (reason as engine.io gives it: "transport close", "ping timeout", ...). */
  onClosed(reason: string, description?: string): void {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    this.emit("close", reason, description);
  }
}

/**
 * The handshake URL's query, as socket.io reads it. A node sends the path a client requested, which
 * always parses; one that does not (a broken or hostile node, e.g. "http://") has no query, rather
 * than throwing out of the link's message handler and taking the app server down.
 */
function queryOf(url: string): Record<string, string> {
  try {
    return Object.fromEntries(new URL(url, "http://regio").searchParams);
  } catch {
    return {};
  }
}

function transportOf(name: string, link: SessionWriter): { name: string; readonly writable: boolean } {
  return {
    name,
    get writable() {
      return link.writable;
    },
  };
}
