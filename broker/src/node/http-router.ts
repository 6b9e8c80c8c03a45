import type { NodeId } from "@regio/protocol";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { WebSocket, WebSocketServer } from "ws";
import {
  APP_LINK_PATH_PATTERN,
  CLIENT_PATH_PATTERN,
  ErrorCode,
  DRAIN_PATH,
  HEALTH_PATH,
  HUB_NAME,
  LINK_FEATURES_HEADER,
  namesLinkFeature,
  READY_PATH,
  RegioError,
  SESSION_MESSAGES_FEATURE,
} from "@regio/protocol";
import type { Hub } from "../hub/hub.ts";
import type { Logger } from "../logger.ts";
import {
  authenticateAppLink,
  authenticateOperator,
  DRAIN_AUDIENCE,
  type AppLinkIdentity,
} from "./app-link-auth.ts";
import {
  FORWARDED_BY_HEADER,
  forwardRequest,
  forwardUpgrade,
  sessionNode,
  wasForwarded,
  type ForwardOptions,
} from "./forward.ts";
import { rejectUpgrade, sendJson } from "./http-replies.ts";

/** Prometheus scrapes the node here. */
export const METRICS_PATH = "/metrics";

export interface RouterContext {
  nodeId: NodeId;
  region: string;
  /** Keys app-link tokens may be signed with (several while one is rotated out). */
  accessKeys: readonly string[];
  log: Logger;
  linkServer: WebSocketServer;
  /** The hub if this node holds it. */
  hub(name: string): Hub | undefined;
  /** The URL of a live node, by id. */
  nodeUrl(nodeId: NodeId): string | undefined;
  /** A forwarded request whose target node stays silent this long is answered 504. */
  forwardTimeoutMs: number;
  /** The nearest other node through which an app server serves the hub (see ClusterMembership). */
  relayFor(hub: string): URL | undefined;
  /** Origins browsers may connect from; undefined: any. */
  allowedOrigins: readonly string[] | undefined;
  /** Browsers may send credentials (engine.io's `cors.credentials`): refusals must say so too. */
  corsCredentials: boolean;
  /** `/readyz`: whether this node can serve, and the detail. */
  readiness(): { ready: boolean; body: object };
  /** An operator (authenticated) asked this node to drain. */
  requestDrain(): void;
  /** `/metrics`: the node's metrics in Prometheus text. */
  metrics(): string;
  /** Whether the node may hold this hub (it holds it already, or fewer than its limit). */
  admitsHub(hub: string): boolean;
  /** An authenticated app link, and whether its SDK reads SessionMessages (LINK_FEATURES_HEADER). */
  acceptLink(identity: AppLinkIdentity, ws: WebSocket, readsSessionMessages: boolean): void;
}

/**
 * Every HTTP request and upgrade a node receives, routed: health and readiness, Engine.IO requests
 * of clients (to the hub's engine, or forwarded to the node that owns the session), app links.
 */
export class HttpRouter {
  /** Client WebSockets piped to another node (relayed, or forwarded to their session's node). */
  private readonly piped = new Set<Socket>();

  constructor(private readonly ctx: RouterContext) {}

  /** Ends the piped WebSockets: their clients reconnect (and recover) elsewhere. */
  closePiped(): void {
    for (const socket of this.piped) socket.destroy();
    this.piped.clear();
  }

  onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0];
    if (path === HEALTH_PATH) {
      return sendJson(res, 200, { status: "ok", nodeId: this.ctx.nodeId, region: this.ctx.region });
    }
    if (path === READY_PATH) {
      const { ready, body } = this.ctx.readiness();
      return sendJson(res, ready ? 200 : 503, body);
    }
    if (path === DRAIN_PATH) return this.onDrain(req, res);
    if (path === METRICS_PATH) {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
      return void res.end(this.ctx.metrics());
    }
    // Every refusal of a browser's request carries CORS headers, so that its page can read why.
    const cors = this.corsHeaders(req);
    const clientMatch = CLIENT_PATH_PATTERN.exec(req.url ?? "");
    if (!clientMatch) return sendJson(res, 404, { code: "NOT_FOUND", message: `no route for ${path}` }, cors);
    const route = this.clientRoute(clientMatch[1]!, req);
    if (route instanceof URL) return forwardRequest(req, res, route, this.forwardOptions(cors));
    if (route instanceof RegioError) {
      return sendJson(res, statusOf(route), { code: route.code, message: route.message }, cors);
    }
    route.engine.handleRequest(req, res);
  }

  onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on("error", destroyOnError);
    const url = req.url ?? "/";
    const clientMatch = CLIENT_PATH_PATTERN.exec(url);
    if (clientMatch) {
      const route = this.clientRoute(clientMatch[1]!, req);
      if (route instanceof URL) {
        // Piped for the session's life: the HTTP server no longer counts it, so close() ends it here.
        this.piped.add(socket);
        socket.once("close", () => this.piped.delete(socket));
        return forwardUpgrade(req, socket, head, route, this.forwardOptions());
      }
      if (route instanceof RegioError) return rejectUpgrade(socket, statusOf(route), route);
      return route.engine.handleUpgrade(req, socket, head);
    }
    const linkMatch = APP_LINK_PATH_PATTERN.exec(url);
    if (linkMatch) return this.upgradeAppLink(linkMatch[1]!, req, socket, head);
    rejectUpgrade(socket, 404, new RegioError(ErrorCode.BadHub, `no route for ${url.split("?")[0]}`));
  }

  /** `POST /drain` with a token signed with the access key (for hub `_drain`): `regio drain`. */
  private onDrain(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== "POST")
      return sendJson(res, 405, { code: "METHOD_NOT_ALLOWED", message: "POST /drain" });
    const identity = authenticateOperator(this.ctx.accessKeys, DRAIN_AUDIENCE, req);
    if ("error" in identity) {
      this.ctx.log.warn({ code: identity.error.code }, "drain request refused");
      return sendJson(res, identity.status, { code: identity.error.code, message: identity.error.message });
    }
    this.ctx.log.info({ by: identity.appServerId }, "drain requested");
    sendJson(res, 202, { status: "draining", nodeId: this.ctx.nodeId });
    this.ctx.requestDrain();
  }

  private upgradeAppLink(hub: string, req: IncomingMessage, socket: Socket, head: Buffer): void {
    const identity = authenticateAppLink(this.ctx.accessKeys, hub, req);
    if ("error" in identity) {
      this.ctx.log.warn({ hub, code: identity.error.code }, "app link refused");
      return rejectUpgrade(socket, identity.status, identity.error);
    }
    if (!this.ctx.admitsHub(hub)) {
      const error = new RegioError(
        ErrorCode.LimitExceeded,
        "this node serves as many hubs as it may (--max-hubs)",
      );
      return rejectUpgrade(socket, 503, error);
    }
    const readsSessionMessages = namesLinkFeature(
      req.headers[LINK_FEATURES_HEADER],
      SESSION_MESSAGES_FEATURE,
    );
    this.ctx.linkServer.handleUpgrade(req, socket, head, (ws) =>
      this.ctx.acceptLink(identity, ws, readsSessionMessages),
    );
  }

  /**
   * Where a client request goes: this node's hub engine, another node (the session's owner, or, for
   * a new session of a hub no app server serves through this node, the nearest node through which
   * one does), or nowhere (an error). A request another node forwarded is never forwarded again.
   */
  private clientRoute(name: string, req: IncomingMessage): Hub | URL | RegioError {
    if (!HUB_NAME.test(name)) return new RegioError(ErrorCode.BadHub, `'${name}' is not a valid hub name`);
    const query = new URL(req.url ?? "/", "http://x").searchParams;
    const sid = query.get("sid");
    const firstHop = !wasForwarded(req);
    const hub = this.ctx.hub(name);
    if (sid === null) {
      const origin = req.headers.origin;
      if (origin && this.ctx.allowedOrigins && !this.ctx.allowedOrigins.includes(origin)) {
        return new RegioError(ErrorCode.Forbidden, `origin '${origin}' is not allowed`);
      }
      if (hub?.hasAppServers) return hub;
      const relay = firstHop ? this.ctx.relayFor(name) : undefined;
      return relay ?? new RegioError(ErrorCode.NoAppServer, `no app server serves hub '${name}'`);
    }
    const owner = sessionNode(sid);
    const ownerUrl = owner && owner !== this.ctx.nodeId && firstHop ? this.ctx.nodeUrl(owner) : undefined;
    if (ownerUrl) return new URL(ownerUrl);
    return hub ?? new RegioError(ErrorCode.BadHub, `hub '${name}' has no session '${sid}' on this node`);
  }

  /**
   * Marked as forwarded (one hop), and given up when the target node hangs. `replyHeaders` go on
   * the answer this node writes itself when the target fails (502, 504).
   */
  private forwardOptions(replyHeaders: Record<string, string> = {}): ForwardOptions {
    return {
      timeoutMs: this.ctx.forwardTimeoutMs,
      headers: { [FORWARDED_BY_HEADER]: this.ctx.nodeId },
      replyHeaders,
    };
  }

  /**
   * CORS headers for an answer this node writes itself, as engine.io's CORS middleware writes them
   * on its own: for an allowed origin only, with credentials when configured.
   */
  private corsHeaders(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (!origin || (this.ctx.allowedOrigins && !this.ctx.allowedOrigins.includes(origin))) return {};
    return {
      "Access-Control-Allow-Origin": origin,
      ...(this.ctx.corsCredentials ? { "Access-Control-Allow-Credentials": "true" } : {}),
      Vary: "Origin",
    };
  }
}

function statusOf(error: RegioError): number {
  if (error.code === ErrorCode.NoAppServer) return 503;
  if (error.code === ErrorCode.Forbidden) return 403;
  return 400;
}

/** A socket's "error" listener while it is upgraded: one function for all of them (not a closure per client). */
function destroyOnError(this: Socket): void {
  this.destroy();
}
