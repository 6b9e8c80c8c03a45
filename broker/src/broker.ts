import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { ServerOptions as EngineOptions } from "engine.io";
import { WebSocketServer } from "ws";
import {
  APP_LINK_PATH_PATTERN,
  CLIENT_PATH_PATTERN,
  ErrorCode,
  HEALTH_PATH,
  HUB_NAME,
  READY_PATH,
  RegioError,
  verifyLinkToken,
  type NodeInfo,
} from "@regio/protocol";
import { AppLink } from "./hub/app-link.ts";
import { Hub } from "./hub/hub.ts";
import { createLogger, type Logger } from "./logger.ts";
import { InProcessBus } from "./replication/in-process.ts";
import type { Replicator } from "./replication/replicator.ts";
import { rejectUpgrade, sendJson } from "./http-replies.ts";
import { forwardRequest, forwardUpgrade, sessionNode } from "./forward.ts";
import { NodeDirectory } from "./replication/node-directory.ts";
import type { NodeHeartbeat } from "./replication/replicator.ts";

export interface BrokerOptions {
  /** Hub access key: app-link tokens must be signed with it. */
  accessKey: string;
  port?: number;
  host?: string;
  region?: string;
  nodeId?: string;
  /** This node's URL as app servers reach it (default http://host:port). */
  advertisedUrl?: string;
  pingInterval?: number;
  pingTimeout?: number;
  /** Largest Engine.IO message or HTTP body a client may send, in bytes. */
  maxHttpBufferSize?: number;
  /** How long a client may stay without joining any namespace. */
  connectTimeout?: number;
  /** Bytes a client may owe before it is disconnected as too slow (default 16 MiB). */
  maxClientQueueBytes?: number;
  cors?: EngineOptions["cors"];
  /** How this node replicates to the others; default: an in-process bus of its own (a lone node). */
  replicator?: Replicator;
  /** A node not heard from for this long is gone, and its sockets leave the view (default 10 s). */
  leaseMs?: number;
  /** Heartbeat period (default lease / 4). */
  heartbeatMs?: number;
  logger?: Logger;
}

export interface BrokerHandle {
  readonly url: string;
  readonly port: number;
  readonly nodeId: string;
  readonly region: string;
  /** The hub's state on this node (for tests and diagnostics). */
  hub(name: string): Hub | undefined;
  /** Live nodes this node knows of (itself included). */
  nodes(): NodeHeartbeat[];
  close(): Promise<void>;
}

export async function startBroker(options: BrokerOptions): Promise<BrokerHandle> {
  if (!options.accessKey) throw new RegioError(ErrorCode.TokenMissing, "startBroker: accessKey is required");
  const nodeId = options.nodeId ?? randomUUID();
  const region = options.region ?? "local";
  const log = options.logger ?? createLogger({ node: nodeId, region });
  const replicator = options.replicator ?? new InProcessBus().connect(nodeId);
  const hubs = new Map<string, Hub>();
  let linkCounter = 0;
  let advertisedUrl = options.advertisedUrl ?? "";
  const leaseMs = options.leaseMs ?? 10_000;
  // Sockets this start of the node owns carry it; a later start under the same id is a new node.
  const incarnation = randomUUID();
  const heartbeat = (leaving = false): NodeHeartbeat => ({
    nodeId,
    incarnation,
    region,
    url: advertisedUrl,
    appServers: Object.fromEntries([...hubs].map(([name, hub]) => [name, hub.appServerIds()])),
    sessions: [...hubs.values()].reduce((n, hub) => n + hub.sessions.size, 0),
    at: Date.now(),
    leaving,
  });
  const directory = new NodeDirectory(
    heartbeat(),
    leaseMs,
    (gone) => {
      const removed = [...hubs.values()].reduce((n, hub) => n + hub.nodeGone(gone), 0);
      log.warn({ gone, removedSockets: removed }, "node left the cluster");
    },
    (joined) => {
      log.info({ joined }, "node joined the cluster");
      // App servers learn the region's nodes from Hello: tell them there is a new one to link to.
      for (const hub of hubs.values()) hub.announceNodes();
    },
  );
  const nodes = (): NodeInfo[] =>
    directory.list(region).map((node) => ({ nodeId: node.nodeId, url: node.url, region: node.region }));
  const remoteAppServers = (hub: string): string[] =>
    directory.list().flatMap((node) => (node.nodeId === nodeId ? [] : (node.appServers[hub] ?? [])));

  const engineOptions: Partial<EngineOptions> = {
    pingInterval: options.pingInterval ?? 25_000,
    pingTimeout: options.pingTimeout ?? 20_000,
    maxHttpBufferSize: options.maxHttpBufferSize ?? 1e6,
    cors: options.cors,
    transports: ["polling", "websocket"],
  };
  const hubFor = (name: string): Hub => {
    let hub = hubs.get(name);
    if (!hub) {
      hub = new Hub(name, {
        nodeId,
        incarnation,
        region,
        replicator,
        log,
        engineOptions,
        connectTimeoutMs: options.connectTimeout ?? 45_000,
        maxClientQueueBytes: options.maxClientQueueBytes ?? 16 * 1024 * 1024,
        nodes,
        remoteAppServers,
      });
      hubs.set(name, hub);
    }
    return hub;
  };

  const linkServer = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  const server = createServer((req, res) => onRequest(req, res));

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0];
    if (path === HEALTH_PATH) return sendJson(res, 200, { status: "ok", nodeId, region });
    if (path === READY_PATH) {
      const status = replicator.status();
      const ready = started && status.ready;
      return sendJson(res, ready ? 200 : 503, {
        status: ready ? "ready" : "not ready",
        nodeId,
        region,
        replication: status,
      });
    }
    const clientMatch = CLIENT_PATH_PATTERN.exec(req.url ?? "");
    if (!clientMatch) return sendJson(res, 404, { code: "NOT_FOUND", message: `no route for ${path}` });
    const owner = ownerElsewhere(req);
    if (owner) return forwardRequest(req, res, owner);
    const hub = clientHub(clientMatch[1]!, req);
    if (hub instanceof RegioError)
      return sendJson(res, statusOf(hub), { code: hub.code, message: hub.message });
    hub.engine.handleRequest(req, res);
  }

  function onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const url = req.url ?? "/";
    const clientMatch = CLIENT_PATH_PATTERN.exec(url);
    if (clientMatch) {
      const owner = ownerElsewhere(req);
      if (owner) return forwardUpgrade(req, socket, head, owner);
      const hub = clientHub(clientMatch[1]!, req);
      if (hub instanceof RegioError) return rejectUpgrade(socket, statusOf(hub), hub);
      return hub.engine.handleUpgrade(req, socket, head);
    }
    const linkMatch = APP_LINK_PATH_PATTERN.exec(url);
    if (linkMatch) return acceptAppLink(linkMatch[1]!, req, socket, head);
    rejectUpgrade(socket, 404, new RegioError(ErrorCode.BadHub, `no route for ${url.split("?")[0]}`));
  }

  /** The URL of the node that owns the request's session, when that is another live node. */
  function ownerElsewhere(req: IncomingMessage): URL | undefined {
    const sid = new URL(req.url ?? "/", "http://x").searchParams.get("sid");
    const owner = sid ? sessionNode(sid) : undefined;
    if (!owner || owner === nodeId) return undefined;
    const url = directory.get(owner)?.url;
    return url ? new URL(url) : undefined;
  }

  /** The hub a client request belongs to; a new session needs a linked app server to serve it. */
  function clientHub(name: string, req: IncomingMessage): Hub | RegioError {
    if (!HUB_NAME.test(name)) return new RegioError(ErrorCode.BadHub, `'${name}' is not a valid hub name`);
    const hub = hubs.get(name);
    const isNewSession = !new URL(req.url ?? "/", "http://x").searchParams.has("sid");
    if (isNewSession && !hub?.hasAppServers) {
      return new RegioError(ErrorCode.NoAppServer, `no app server is connected to hub '${name}'`);
    }
    return hub ?? hubFor(name);
  }

  function acceptAppLink(name: string, req: IncomingMessage, socket: Socket, head: Buffer): void {
    if (!HUB_NAME.test(name)) {
      return rejectUpgrade(
        socket,
        400,
        new RegioError(ErrorCode.BadHub, `'${name}' is not a valid hub name`),
      );
    }
    const token = bearerToken(req);
    if (!token) {
      return rejectUpgrade(socket, 401, new RegioError(ErrorCode.TokenMissing, "app-link token is missing"));
    }
    let appServerId: string;
    try {
      appServerId = verifyLinkToken(options.accessKey, token, name).sub;
    } catch (error) {
      const regioError =
        error instanceof RegioError ? error : new RegioError(ErrorCode.TokenInvalid, String(error));
      log.warn({ hub: name, code: regioError.code }, "app link refused");
      return rejectUpgrade(socket, 401, regioError);
    }
    linkServer.handleUpgrade(req, socket, head, (ws) => {
      const link = new AppLink(`${nodeId}/${++linkCounter}`, appServerId, ws, log);
      hubFor(name).addLink(link);
    });
  }

  server.on("upgrade", onUpgrade);
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 7400, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  if (!advertisedUrl) advertisedUrl = url;

  let started = false;
  await replicator.start({
    record(record) {
      // One-hop rule: a node never acts twice on its own records (implementations do not echo them).
      if (record.origin.nodeId !== nodeId) hubs.get(record.hub)?.onReplicated(record);
    },
    membership(record) {
      if (record.owner.nodeId !== nodeId) hubFor(record.hub).onMembership(record);
    },
    heartbeat(beat) {
      directory.update(beat);
    },
  });
  started = true;
  const beat = () => replicator.publishHeartbeat(heartbeat());
  beat();
  const heartbeatTimer = setInterval(beat, options.heartbeatMs ?? leaseMs / 4);
  heartbeatTimer.unref();
  const sweepTimer = setInterval(() => {
    const removed = [...hubs.values()].reduce(
      (n, hub) => n + hub.sweepOrphans((id, inc) => directory.isAlive(id, inc), leaseMs),
      0,
    );
    if (removed > 0) log.info({ removedSockets: removed }, "dropped sockets of nodes that are not alive");
  }, leaseMs / 2);
  sweepTimer.unref();
  log.info({ url, advertisedUrl }, "broker listening");

  return {
    url,
    port,
    nodeId,
    region,
    hub: (name) => hubs.get(name),
    nodes: () => directory.list(),
    async close() {
      clearInterval(heartbeatTimer);
      clearInterval(sweepTimer);
      directory.close();
      for (const hub of hubs.values()) hub.close();
      replicator.publishHeartbeat(heartbeat(true));
      for (const client of linkServer.clients) client.terminate();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await replicator.close();
      log.info("broker stopped");
    },
  };
}

function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith("Bearer ")) return header.slice("Bearer ".length).trim();
  return new URL(req.url ?? "/", "http://x").searchParams.get("access_token") ?? undefined;
}

function statusOf(error: RegioError): number {
  if (error.code === ErrorCode.NoAppServer) return 503;
  return 400;
}
