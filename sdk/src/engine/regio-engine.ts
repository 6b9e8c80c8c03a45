import { EventEmitter } from "node:events";
import { ErrorCode, RegioError, type SessionId, type SessionOpen } from "@regio/protocol";
import { VirtualConnection, type SessionWriter } from "./virtual-connection.ts";
import { VirtualResponse } from "./virtual-response.ts";

/** An engine.io middleware as `io.engine.use()` takes it (express-style). */
export type EngineMiddleware = (req: never, res: never, next: (error?: unknown) => void) => unknown;

/**
 * engine.io events about the HTTP responses it writes: the broker node writes those, before the app
 * server hears of the session, so a listener could never change them. Listening is refused with
 * UNSUPPORTED rather than silently never called.
 */
const HTTP_RESPONSE_EVENTS = new Set<string | symbol>(["initial_headers", "headers"]);

/** engine.io's code and message for a request its middlewares refused. */
const BAD_REQUEST = { code: 3, message: "Bad request" } as const;

/**
 * Replaces `io.engine` (socket.io's engine.io Server) in the app server: it emits "connection"
 * with a VirtualConnection for every client session a broker node hands to this app server, after
 * the app's engine middlewares (`io.engine.use()`) accepted its handshake request; a middleware
 * that fails closes the session and emits "connection_error", as engine.io does.
 */
export class RegioEngine extends EventEmitter {
  readonly clients = new Map<SessionId, VirtualConnection>();
  private readonly middlewares: EngineMiddleware[] = [];
  /**
   * Connections whose client asked to recover a socket (its CONNECT carried a private session id),
   * by that id: socket.io's restoreSession(pid, offset) names no connection, and the node to ask is
   * the one holding the connection's session.
   */
  private readonly recovering = new Map<string, VirtualConnection>();

  constructor(private readonly onClose: () => void) {
    super();
  }

  get clientsCount(): number {
    return this.clients.size;
  }

  /** As engine.io's `use()`: runs on each new session's handshake request, in order. */
  use(middleware: EngineMiddleware): void {
    this.middlewares.push(middleware);
  }

  override on(event: string | symbol, listener: (...args: unknown[]) => void): this {
    refuseResponseEvents(event);
    return super.on(event, listener);
  }

  override addListener(event: string | symbol, listener: (...args: unknown[]) => void): this {
    refuseResponseEvents(event);
    return super.addListener(event, listener);
  }

  override once(event: string | symbol, listener: (...args: unknown[]) => void): this {
    refuseResponseEvents(event);
    return super.once(event, listener);
  }

  override prependListener(event: string | symbol, listener: (...args: unknown[]) => void): this {
    refuseResponseEvents(event);
    return super.prependListener(event, listener);
  }

  open(message: SessionOpen, link: SessionWriter): void {
    // A session id is opened once: a second SessionOpen for it (a broken or hostile node) is ignored.
    if (this.clients.has(message.sessionId)) return;
    const connection = new VirtualConnection(message, link);
    this.clients.set(connection.id, connection);
    connection.once("close", () => this.clients.delete(connection.id));
    // Before socket.io's own listener, which asks the adapter to restore the socket.
    connection.on("data", (data: unknown) => {
      const pid = typeof data === "string" ? recoveryPid(data) : undefined;
      if (pid === undefined) return;
      this.recovering.set(pid, connection);
      setTimeout(() => this.recovering.delete(pid), 30_000).unref();
    });
    if (this.middlewares.length === 0) return this.hand(connection);
    void this.runMiddlewares(connection).then(
      () => {
        if (connection.readyState === "open") this.hand(connection);
      },
      (error: unknown) => {
        this.emit("connection_error", {
          req: connection.request,
          ...BAD_REQUEST,
          context: { name: "MIDDLEWARE_FAILURE", error },
        });
        connection.close();
      },
    );
  }

  /** The connection whose client asks to recover the socket `pid` names (once). */
  recoveringWith(pid: string): VirtualConnection | undefined {
    const connection = this.recovering.get(pid);
    this.recovering.delete(pid);
    return connection?.readyState === "open" ? connection : undefined;
  }

  get(sessionId: SessionId): VirtualConnection | undefined {
    return this.clients.get(sessionId);
  }

  /** Every session ends with the link that carried it (all sessions, without `link`). */
  closeAll(reason: string, link?: SessionWriter): void {
    for (const connection of [...this.clients.values()]) {
      if (!link || connection.link === link) connection.onClosed(reason);
    }
  }

  /** socket.io calls this from `io.close()`. */
  close(): this {
    this.closeAll("forced server close");
    this.onClose();
    return this;
  }

  private hand(connection: VirtualConnection): void {
    this.emit("connection", connection);
    connection.accept();
  }

  /** The middlewares in order, each settled by `next` (or a rejected promise), as engine.io runs them. */
  private async runMiddlewares(connection: VirtualConnection): Promise<void> {
    const res = new VirtualResponse();
    for (const middleware of this.middlewares) {
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        const next = (error?: unknown) => {
          if (settled) return;
          settled = true;
          if (error) reject(error);
          else resolve();
        };
        try {
          Promise.resolve(middleware(connection.request as never, res as never, next)).catch(next);
        } catch (error) {
          next(error);
        }
      });
    }
    // engine.io answers the handshake once its middlewares passed: middlewares that act on the end
    // of the response (express-session saves the session then) do so now.
    if (!res.writableEnded) res.writeHead(200).end();
  }
}

/** The private session id a Socket.IO CONNECT packet (`0[/nsp,]{...}`) presents to recover, if any. */
function recoveryPid(packet: string): string | undefined {
  if (packet[0] !== "0" || !packet.includes('"pid"')) return undefined;
  const start = packet.indexOf("{");
  if (start < 0) return undefined;
  try {
    const auth: unknown = JSON.parse(packet.slice(start));
    const pid = typeof auth === "object" && auth !== null ? (auth as { pid?: unknown }).pid : undefined;
    return typeof pid === "string" ? pid : undefined;
  } catch {
    return undefined;
  }
}

function refuseResponseEvents(event: string | symbol): void {
  if (!HTTP_RESPONSE_EVENTS.has(event)) return;
  throw new RegioError(
    ErrorCode.Unsupported,
    `io.engine.on("${String(event)}") is not supported with Regio: the broker node answers the client's ` +
      "HTTP requests, so their headers cannot be changed in the app server (set cookies from an HTTP route of your app instead)",
  );
}
