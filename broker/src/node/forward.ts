import { request, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { sendJson } from "./http-replies.ts";

/**
 * Marks a request a node forwarded (its value: the forwarding node's id). A node never forwards a
 * marked request again: one hop at most, whatever a heartbeat claims about URLs.
 */
export const FORWARDED_BY_HEADER = "x-regio-forwarded-by";

export function wasForwarded(req: IncomingMessage): boolean {
  return req.headers[FORWARDED_BY_HEADER] !== undefined;
}

/**
 * Polling without sticky sessions: a request for a session that lives on another node is passed to
 * that node as is, and its answer passed back. The client never knows.
 */
export function forwardRequest(req: IncomingMessage, res: ServerResponse, target: URL, via: string): void {
  const headers = { ...req.headers, [FORWARDED_BY_HEADER]: via };
  const upstream = request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", () => {
    if (!res.headersSent)
      sendJson(res, 502, { code: "NODE_UNREACHABLE", message: "the session's node is unreachable" });
    else res.destroy();
  });
  req.pipe(upstream);
}

/** The same for a WebSocket upgrade (a polling session upgrading through another node). */
export function forwardUpgrade(
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  target: URL,
  via: string,
): void {
  const upstream = connect(Number(target.port), target.hostname, () => {
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (req.rawHeaders[i]!.toLowerCase() === FORWARDED_BY_HEADER) continue;
      lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    }
    lines.push(`${FORWARDED_BY_HEADER}: ${via}`);
    upstream.write(lines.join("\r\n") + "\r\n\r\n");
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on("error", () => socket.destroy());
  socket.on("error", () => upstream.destroy());
  socket.on("close", () => upstream.destroy());
  upstream.on("close", () => socket.destroy());
}

/** The node a session id names (Hub appends `.<nodeId>` to engine.io's ids). */
export function sessionNode(sid: string): string | undefined {
  const dot = sid.lastIndexOf(".");
  return dot > 0 ? sid.slice(dot + 1) : undefined;
}
