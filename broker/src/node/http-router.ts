import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { WebSocket, WebSocketServer } from "ws";
import {
  APP_LINK_PATH_PATTERN,
  CLIENT_PATH_PATTERN,
  ErrorCode,
  HEALTH_PATH,
  HUB_NAME,
  READY_PATH,
  RegioError,
} from "@regio/protocol";
import type { Hub } from "../hub/hub.ts";
import type { Logger } from "../logger.ts";
import { authenticateAppLink, type AppLinkIdentity } from "./app-link-auth.ts";
import { forwardRequest, forwardUpgrade, sessionNode } from "./forward.ts";
import { rejectUpgrade, sendJson } from "./http-replies.ts";

export interface RouterContext {
  nodeId: string;
  region: string;
  accessKey: string;
  log: Logger;
  linkServer: WebSocketServer;
  /** The hub if this node holds it. */
  hub(name: string): Hub | undefined;
  /** The URL of a live node, by id. */
  nodeUrl(nodeId: string): string | undefined;
  /** `/readyz`: whether this node can serve, and the detail. */
  readiness(): { ready: boolean; body: object };
  /** An authenticated app link. */
  acceptLink(identity: AppLinkIdentity, ws: WebSocket): void;
}

/**
 * Every HTTP request and upgrade a node receives, routed: health and readiness, Engine.IO requests
 * of clients (to the hub's engine, or forwarded to the node that owns the session), app links.
 */
export class HttpRouter {
  constructor(private readonly ctx: RouterContext) {}

  onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0];
    if (path === HEALTH_PATH) {
      return sendJson(res, 200, { status: "ok", nodeId: this.ctx.nodeId, region: this.ctx.region });
    }
    if (path === READY_PATH) {
      const { ready, body } = this.ctx.readiness();
      return sendJson(res, ready ? 200 : 503, body);
    }
    const clientMatch = CLIENT_PATH_PATTERN.exec(req.url ?? "");
    if (!clientMatch) return sendJson(res, 404, { code: "NOT_FOUND", message: `no route for ${path}` });
    const owner = this.ownerElsewhere(req);
    if (owner) return forwardRequest(req, res, owner);
    const hub = this.clientHub(clientMatch[1]!, req);
    if (hub instanceof RegioError)
      return sendJson(res, statusOf(hub), { code: hub.code, message: hub.message });
    hub.engine.handleRequest(req, res);
  }

  onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const url = req.url ?? "/";
    const clientMatch = CLIENT_PATH_PATTERN.exec(url);
    if (clientMatch) {
      const owner = this.ownerElsewhere(req);
      if (owner) return forwardUpgrade(req, socket, head, owner);
      const hub = this.clientHub(clientMatch[1]!, req);
      if (hub instanceof RegioError) return rejectUpgrade(socket, statusOf(hub), hub);
      return hub.engine.handleUpgrade(req, socket, head);
    }
    const linkMatch = APP_LINK_PATH_PATTERN.exec(url);
    if (linkMatch) return this.upgradeAppLink(linkMatch[1]!, req, socket, head);
    rejectUpgrade(socket, 404, new RegioError(ErrorCode.BadHub, `no route for ${url.split("?")[0]}`));
  }

  private upgradeAppLink(hub: string, req: IncomingMessage, socket: Socket, head: Buffer): void {
    const identity = authenticateAppLink(this.ctx.accessKey, hub, req);
    if ("error" in identity) {
      this.ctx.log.warn({ hub, code: identity.error.code }, "app link refused");
      return rejectUpgrade(socket, identity.status, identity.error);
    }
    this.ctx.linkServer.handleUpgrade(req, socket, head, (ws) => this.ctx.acceptLink(identity, ws));
  }

  /** The URL of the node that owns the request's session, when that is another live node. */
  private ownerElsewhere(req: IncomingMessage): URL | undefined {
    const sid = new URL(req.url ?? "/", "http://x").searchParams.get("sid");
    const owner = sid ? sessionNode(sid) : undefined;
    if (!owner || owner === this.ctx.nodeId) return undefined;
    const url = this.ctx.nodeUrl(owner);
    return url ? new URL(url) : undefined;
  }

  /** The hub a client request belongs to; a new session needs a linked app server to serve it. */
  private clientHub(name: string, req: IncomingMessage): Hub | RegioError {
    if (!HUB_NAME.test(name)) return new RegioError(ErrorCode.BadHub, `'${name}' is not a valid hub name`);
    const hub = this.ctx.hub(name);
    const isNewSession = !new URL(req.url ?? "/", "http://x").searchParams.has("sid");
    if (isNewSession && !hub?.hasAppServers) {
      return new RegioError(ErrorCode.NoAppServer, `no app server is connected to hub '${name}'`);
    }
    if (!hub) return new RegioError(ErrorCode.BadHub, `hub '${name}' has no sessions on this node`);
    return hub;
  }
}

function statusOf(error: RegioError): number {
  if (error.code === ErrorCode.NoAppServer) return 503;
  return 400;
}
