import { NodeId } from "@regio/protocol";
import { request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { replyOnSocket, sendJson } from "./http-replies.ts";

/**
 * Set by a node on a request it passes to another node. The receiver serves such a request itself
 * and never passes it on (one hop): a directory entry with a wrong URL, even this node's own, cannot
 * make a forwarding loop. The global endpoint does not set it: a node may still forward what it
 * receives from there to the session's owner.
 */
export const FORWARDED_BY_HEADER = "x-regio-forwarded-by";

export function wasForwarded(req: IncomingMessage): boolean {
  return req.headers[FORWARDED_BY_HEADER] !== undefined;
}

export interface ForwardOptions {
  /**
   * A target that sends nothing for this long is given up (504), so a hung node cannot hold
   * requests and sockets forever. A long-poll waits up to the ping interval for its answer: allow
   * pingInterval + pingTimeout and a margin (see longPollTimeoutMs).
   */
  timeoutMs: number;
  /** Added to the request, e.g. the one-hop marker. */
  headers?: Record<string, string>;
  /** Added to the answer this side writes itself when the target fails (502, 504): CORS headers. */
  replyHeaders?: Record<string, string>;
  /**
   * Another target for a request that can be sent again (a WebSocket upgrade, or one without a
   * body: a polling handshake) when this target refuses the connection: a node that just died is
   * skipped at once, before probes notice. Undefined when there is none left to try.
   */
  retryElsewhere?: () => URL | undefined;
}

/** A generous bound for one Engine.IO request through a proxy: a poll answers within the ping interval. */
export function longPollTimeoutMs(pingInterval: number, pingTimeout: number): number {
  return pingInterval + pingTimeout + 5000;
}

/**
 * Passes an HTTP request (Engine.IO long-polling) to `target` as is and its answer back: status,
 * headers (CORS included) and body, both ways. The request to the target is aborted as soon as the
 * client goes away, or when the target stays silent for `timeoutMs`.
 */
export function forwardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  target: URL,
  options: ForwardOptions,
): void {
  let timedOut = false;
  const upstream = request({
    host: target.hostname,
    port: target.port,
    method: req.method,
    path: req.url,
    headers: { ...endToEnd(req.headers), ...forwardedFor(req), ...options.headers },
    timeout: options.timeoutMs,
  });
  upstream.on("response", (answer) => {
    res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
    answer.pipe(res);
    // Cut off mid-body (the target died): the client must see a broken answer, not a short one.
    answer.on("error", () => res.destroy());
    answer.on("aborted", () => res.destroy());
  });
  upstream.on("timeout", () => {
    timedOut = true;
    upstream.destroy();
  });
  upstream.on("error", (error) => {
    if (res.headersSent || res.destroyed) return void res.destroy();
    const next = !timedOut && refused(error) && hasNoBody(req) ? options.retryElsewhere?.() : undefined;
    if (next) return forwardRequest(req, res, next, options);
    if (timedOut) {
      const body = { code: "NODE_TIMEOUT", message: `no answer from ${target.host} in time` };
      sendJson(res, 504, body, options.replyHeaders);
    } else {
      const body = { code: "NODE_UNREACHABLE", message: `${target.host} is unreachable` };
      sendJson(res, 502, body, options.replyHeaders);
    }
  });
  // The client gave up (or its connection broke): stop waiting for the target at once.
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  // On a retry the request's (empty) body was read already.
  if (req.readableEnded) upstream.end();
  else req.pipe(upstream);
}

/**
 * The same for a WebSocket upgrade: the upgrade request is written to the target with the added
 * headers, then bytes are piped both ways until either side closes. Only the wait for the target's
 * answer to the upgrade is bounded; after that the WebSocket's own pings watch the connection.
 */
export function forwardUpgrade(
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  target: URL,
  options: ForwardOptions,
): void {
  let answered = false;
  let handedOver = false;
  const upstream = connect(Number(target.port), target.hostname, () => {
    const added: Record<string, string> = { ...forwardedFor(req), ...options.headers };
    const replaced = new Set(Object.keys(added));
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (!replaced.has(req.rawHeaders[i]!.toLowerCase()))
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    }
    for (const [name, value] of Object.entries(added)) lines.push(`${name}: ${value}`);
    upstream.write(lines.join("\r\n") + "\r\n\r\n");
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
    upstream.once("data", () => {
      answered = true;
      upstream.setTimeout(0);
    });
  });
  upstream.setTimeout(options.timeoutMs, () => {
    replyOnSocket(socket, 504, { code: "NODE_TIMEOUT", message: `no answer from ${target.host} in time` });
    upstream.destroy();
  });
  upstream.on("error", (error) => {
    if (answered) return void socket.destroy();
    const next = refused(error) ? options.retryElsewhere?.() : undefined;
    if (next) {
      handedOver = true;
      return forwardUpgrade(req, socket, head, next, options);
    }
    replyOnSocket(socket, 502, { code: "NODE_UNREACHABLE", message: `${target.host} is unreachable` });
  });
  socket.on("error", () => upstream.destroy());
  socket.on("close", () => upstream.destroy());
  upstream.on("close", () => {
    if (!handedOver) socket.destroy();
  });
}

/** Nothing reached the target: sending the request elsewhere cannot do anything twice. */
function refused(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ECONNREFUSED" || code === "EHOSTUNREACH" || code === "ENETUNREACH";
}

function hasNoBody(req: IncomingMessage): boolean {
  return req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS";
}

/** The node a session id names (Hub appends `.<nodeId>` to engine.io's ids). */
export function sessionNode(sid: string): NodeId | undefined {
  const dot = sid.lastIndexOf(".");
  return dot > 0 ? NodeId(sid.slice(dot + 1)) : undefined;
}

/** The session id of an Engine.IO request; none for a new session (a handshake). */
export function requestSid(req: IncomingMessage): string | undefined {
  return new URL(req.url ?? "/", "http://x").searchParams.get("sid") ?? undefined;
}

/** Headers that belong to one connection (RFC 9110 §7.6.1), which a proxy must not pass on. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = String(headers.connection ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase());
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name) && !named.includes(name)),
  );
}

/** Who the client is, for the target's logs and handshake headers: the de facto proxy headers. */
function forwardedFor(req: IncomingMessage): Record<string, string> {
  const client = req.socket.remoteAddress ?? "unknown";
  const earlier = req.headers["x-forwarded-for"];
  return {
    "x-forwarded-for": earlier ? `${String(earlier)}, ${client}` : client,
    "x-forwarded-proto": String(req.headers["x-forwarded-proto"] ?? "http"),
  };
}
