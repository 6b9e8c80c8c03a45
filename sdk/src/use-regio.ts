import { randomUUID } from "node:crypto";
import type { TracerProvider } from "@opentelemetry/api";
import type { Server } from "socket.io";
import { RegioAdapter } from "./adapter.ts";
import { RegioEngine } from "./engine/regio-engine.ts";
import { ineffectiveOptions } from "./server-options.ts";
import { bindEngine, namespaceOf, runServerSideEmitListeners, useAdapter } from "./internals/socket-io.ts";
import { LinkSet, newLinkState } from "./link/link-set.ts";
import { DEFAULT_OUTBOX_OPTIONS, type OutboxOptions } from "./link/outbox.ts";
import { RegionalLinks, type Links } from "./link/regional-links.ts";
import type { NodeLink } from "./link/node-link.ts";
import { AppTracing } from "./tracing/app-tracing.ts";
import {
  ConnectionStringError,
  ErrorCode,
  HUB_NAME,
  MessageType,
  parseConnectionString,
  RegioError,
  SocketAction,
  type ApplyToSockets,
  type Hello,
  type Message,
  type ServerSideEmitDeliver,
} from "@regio/protocol";

export interface RegioOptions {
  /** The hub this app serves (letters, digits and `_`, starting with a letter). */
  hub: string;
  /** `Endpoint=http://127.0.0.1:7400;AccessKey=<key>;Version=1.0;` (or give `regions`) */
  connectionString?: string;
  /**
   * Several regions: the SDK links to the nearest healthy one (lowest measured round-trip time;
   * within 5 ms of each other, the one listed first), fails over to the next when it stays down, and moves back when it is healthy again.
   */
  regions?: Array<{ name: string; connectionString: string }>;
  /** How often the preferred region's return is checked, ms (default 5000). */
  regionProbeIntervalMs?: number;
  /** A region whose every link is down this long is left for the next healthy one, ms (default 500). */
  failoverAfterMs?: number;
  /**
   * Bounds of the operation stream: unacknowledged operations held at most (`maxBytes`, default
   * 64 MiB; past it emits throw RegioError BUFFER_FULL), and how long acknowledged ones are kept to
   * replay to another region after a region loss (`replayWindowMs`, default 30 s; `maxReplayBytes`,
   * default 32 MiB).
   */
  outbox?: Partial<OutboxOptions>;
  /** Stable id of this app server (default: a random UUID per process). */
  appServerId?: string;
  /**
   * Where the SDK's spans go (default: the global provider, whatever the app registers). The SDK
   * uses only the OpenTelemetry API: with no SDK registered it records nothing and costs nothing.
   */
  tracerProvider?: TracerProvider;
}

export interface RegioHandle {
  readonly appServerId: string;
  /** Resolves when the link to the broker is up the first time (it never rejects: see whenReady). */
  readonly ready: Promise<Hello>;
  /**
   * Resolves when the link is up; rejects with RegioError TIMEOUT (naming the last link error, e.g.
   * an unreachable endpoint) when it is not up within `timeoutMs`.
   */
  whenReady(timeoutMs: number): Promise<Hello>;
  /** Unlinks from the broker; the app's clients on this app server are disconnected. */
  close(): Promise<void>;
  /** Link errors (refused token, bad frames) for logging; the link keeps re-trying by itself. */
  onError(listener: (error: RegioError) => void): void;
}

/**
 * Serves the app's own socket.io Server through a Regio broker: after this call, clients that
 * connect to the broker are this Server's clients, and everything else in the app stays as it is.
 *
 * Throws RegioError(BAD_HUB) or ConnectionStringError (BAD_CONNECTION_STRING, naming the field).
 */
export function useRegio(io: Server, options: RegioOptions): RegioHandle {
  if (typeof options.hub !== "string" || !HUB_NAME.test(options.hub)) {
    throw new RegioError(ErrorCode.BadHub, `'${String(options.hub)}' is not a valid hub name`);
  }
  const appServerId = options.appServerId ?? randomUUID();
  const link = createLinks(options, appServerId);
  const tracing = new AppTracing(options.hub, options.tracerProvider);
  refuseDirectConnections(io);
  for (const note of ineffectiveOptions(io)) {
    process.emitWarning(note, { type: "RegioWarning", code: ErrorCode.Unsupported });
  }
  const engine = new RegioEngine(() => void link.close());
  bindEngine(io, engine);
  useAdapter(
    io,
    class extends RegioAdapter {
      constructor(nsp: ConstructorParameters<typeof RegioAdapter>[0]) {
        super(nsp, link, tracing);
      }
    },
  );

  // Link problems go to the app's onError listeners; with none, to Node's warnings (never thrown).
  const errorListeners = new Set<(error: RegioError) => void>();
  let lastError: RegioError | undefined;
  link.on("error", (error) => {
    lastError = error;
    if (errorListeners.size === 0) warnOnce(error);
    for (const listener of errorListeners) listener(error);
  });
  link.on("message", (message, from) => dispatch(io, engine, tracing, from, message));
  // Sessions live as long as the link that carries them: the node closes them on its side too.
  link.on("down", (from) => engine.closeAll("transport close", from));
  const ready = new Promise<Hello>((resolve) => link.once("up", resolve));
  link.start();

  return {
    appServerId,
    ready,
    whenReady(timeoutMs) {
      return new Promise<Hello>((resolve, reject) => {
        const timer = setTimeout(() => {
          const why = lastError ? `: ${lastError.message}` : "";
          reject(new RegioError(ErrorCode.Timeout, `no broker node answered within ${timeoutMs} ms${why}`));
        }, timeoutMs);
        void ready.then((hello) => {
          clearTimeout(timer);
          resolve(hello);
        });
      });
    },
    async close() {
      engine.closeAll("transport close");
      await link.close();
    },
    onError(listener) {
      errorListeners.add(listener);
    },
  };
}

const warned = new Map<string, number>();

/** A link problem nobody listens for, as a Node warning; the same one at most once a minute. */
function warnOnce(error: RegioError): void {
  const now = Date.now();
  if ((warned.get(error.message) ?? 0) > now - 60_000) return;
  warned.set(error.message, now);
  process.emitWarning(error.message, { type: "RegioWarning", code: error.code });
}

function createLinks(options: RegioOptions, appServerId: string): Links {
  const hub = options.hub;
  const outbox = { ...DEFAULT_OUTBOX_OPTIONS, ...options.outbox };
  if (options.regions && options.regions.length > 0) {
    const regions = options.regions.map(({ name, connectionString }) => {
      const { endpoint, accessKey } = parseConnectionString(connectionString);
      return { name, endpoint, accessKey };
    });
    return new RegionalLinks({
      hub,
      appServerId,
      regions,
      probeIntervalMs: options.regionProbeIntervalMs,
      failoverAfterMs: options.failoverAfterMs,
      outbox,
    });
  }
  if (!options.connectionString) {
    throw new ConnectionStringError("give connectionString or regions", "connectionString");
  }
  const { endpoint, accessKey } = parseConnectionString(options.connectionString);
  return new LinkSet({ endpoint, hub, accessKey, appServerId }, newLinkState(appServerId, outbox));
}

/**
 * A Server created on an HTTP server (`new Server(httpServer)`) already listens there with a real
 * engine.io. Clients must come through the broker: a direct connection would be a socket with no
 * session on any node. Such requests are refused with 403 and the reason, and never reach socket.io.
 */
function refuseDirectConnections(io: Server): void {
  const engine = io.engine as Server["engine"] | undefined;
  if (!engine || typeof (engine as { handleRequest?: unknown }).handleRequest !== "function") return;
  engine.removeAllListeners("connection");
  engine.opts.allowRequest = (_req, callback) =>
    callback("this server is served through Regio: connect to the broker's endpoint", false);
}

function dispatch(
  io: Server,
  engine: RegioEngine,
  tracing: AppTracing,
  link: NodeLink,
  message: Message,
): void {
  switch (message.type) {
    case MessageType.SessionOpen:
      return engine.open(message, link);
    case MessageType.SessionMessage: {
      const connection = engine.get(message.sessionId);
      if (!connection) return;
      // socket.io dispatches the client's packet in the context the node started for it.
      return tracing.clientMessage(connection, message.data, message.trace, () =>
        connection.onMessage(message.data),
      );
    }
    case MessageType.SessionClosed:
      return engine.get(message.sessionId)?.onClosed(message.reason, message.description);
    case MessageType.SessionUpgraded:
      return engine.get(message.sessionId)?.onUpgraded(message.transport);
    case MessageType.ApplyToSockets:
      return tracing.incoming(message.trace, "applyToSockets", () => applyToSockets(io, message));
    case MessageType.ServerSideEmitDeliver:
      return tracing.incoming(message.trace, "serverSideEmit", () =>
        deliverServerSideEmit(io, link, message),
      );
  }
}

function applyToSockets(io: Server, message: ApplyToSockets): void {
  const nsp = namespaceOf(io, message.nsp);
  if (!nsp) return;
  for (const sid of message.sids) {
    const socket = nsp.sockets.get(sid);
    if (!socket) continue;
    switch (message.action) {
      case SocketAction.join:
        socket.join(message.rooms);
        break;
      case SocketAction.leave:
        for (const room of message.rooms) socket.leave(room);
        break;
      case SocketAction.disconnect:
      case SocketAction.disconnectAndClose:
        socket.disconnect(message.action === SocketAction.disconnectAndClose);
        break;
    }
  }
}

/** Event names socket.io's serverSideEmit refuses to send (its Namespace's RESERVED_EVENTS). */
const RESERVED_SERVER_SIDE_EVENTS: ReadonlySet<unknown> = new Set(["connect", "connection", "new_namespace"]);

function deliverServerSideEmit(io: Server, link: NodeLink, message: ServerSideEmitDeliver): void {
  const nsp = namespaceOf(io, message.nsp);
  if (!nsp) return;
  // What socket.io would never send arrives only from a broken or hostile peer (a node, or another
  // app server through it): a reserved name would reach the app's connection handlers with a
  // non-socket, and an "error" nobody listens for would throw out of the link's handler and take
  // the app server down. Neither is delivered (a request for one goes unanswered, as for an event
  // nobody handles).
  const event = message.args[0];
  if (RESERVED_SERVER_SIDE_EVENTS.has(event) || (event === "error" && nsp.listenerCount("error") === 0))
    return;
  const { requestId } = message;
  if (requestId === undefined) return runServerSideEmitListeners(nsp, message.args);
  let answered = false;
  const reply = (response: unknown) => {
    if (answered) return;
    answered = true;
    link.send({ type: MessageType.ServerSideEmitResponse, requestId, response });
  };
  runServerSideEmitListeners(nsp, [...message.args, reply]);
}
