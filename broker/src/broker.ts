import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { ServerOptions as EngineOptions } from "engine.io";
import { WebSocketServer } from "ws";
import { ErrorCode, RegioError, NodeId } from "@regio/protocol";
import { weakAccessKey } from "./access-keys.ts";
import { ClusterMembership } from "./cluster/cluster-membership.ts";
import { ConfigError } from "./config.ts";
import { AppLink } from "./hub/app-link.ts";
import type { Hub } from "./hub/hub.ts";
import { createLogger, type Logger } from "./logger.ts";
import { longPollTimeoutMs } from "./node/forward.ts";
import { HttpRouter } from "./node/http-router.ts";
import { drainHubs } from "./node/drain.ts";
import { HeartbeatSchedule } from "./hub/heartbeats.ts";
import { HubRegistry } from "./node/hub-registry.ts";
import { InProcessBus } from "./replication/in-process.ts";
import { localTelemetry, type BrokerTelemetry } from "./telemetry/telemetry.ts";

/** What a node accepts per operation by default (see BrokerOptions.maxOperationBytes). */
export const DEFAULT_MAX_OPERATION_BYTES = 990_000;
/** socket.io's default maxDisconnectionDuration. */
export const DEFAULT_RECOVERY_WINDOW_MS = 120_000;
import type { NodeHeartbeat, Replicator } from "./replication/replicator.ts";

export interface BrokerOptions {
  /**
   * Hub access key: app-link tokens must be signed with it. Several, comma-separated, while one is
   * rotated out: any of them verifies.
   */
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
  /**
   * Largest operation an app server may send (its app-link frame, default 990,000 bytes): it must
   * fit one record of the replication log with its headers (Kafka's and Event Hubs' default limit
   * is about 1 MB). Larger ones are refused with PAYLOAD_TOO_LARGE.
   */
  maxOperationBytes?: number;
  /**
   * CORS for browsers (engine.io's `cors`, also applied to the node's own refusals of client
   * requests); default: any origin, without credentials.
   */
  cors?: EngineOptions["cors"];
  /** How this node replicates to the others; default: an in-process bus of its own (a lone node). */
  replicator?: Replicator;
  /** A node not heard from for this long is gone, and its sockets leave the view (default 10 s). */
  leaseMs?: number;
  /** Heartbeat period (default lease / 4). */
  heartbeatMs?: number;
  /** Hubs this node holds at most (default 1000): app links for more are refused (LIMIT_EXCEEDED). */
  maxHubs?: number;
  /**
   * An operator asked this node to drain (`POST /drain`, authenticated with the access key): the
   * process's own procedure (the CLI drains, closes and exits). Default: drain.
   */
  onDrainRequest?: () => void;
  /**
   * How long recoverable events are kept for clients that come back (connection state recovery):
   * the longest maxDisconnectionDuration of the apps it serves (default 120 s, socket.io's).
   */
  recoveryWindowMs?: number;
  /** Bytes of recoverable events kept per hub at most (default 64 MiB; the oldest go first). */
  recoveryMaxBytes?: number;
  /**
   * Bytes written to one app server and not yet sent at most (default 64 MiB): from an eighth of it
   * the node stops reading from that app server's clients until it catches up; past it the link is
   * dropped.
   */
  maxLinkBufferedBytes?: number;
  /**
   * Globs (`*` any run of characters within host, port or path segment) other nodes' advertised
   * URLs must match for their heartbeats to be believed; default: this node's scheme and host, any port.
   */
  nodeUrlPatterns?: readonly string[];
  logger?: Logger;
  /**
   * The node's OpenTelemetry (tracing, metrics, `/metrics`); the node shuts it down when it closes.
   * Default: tracing off, metrics at `/metrics` only. The CLI builds it from the OTEL_* variables.
   */
  telemetry?: BrokerTelemetry;
}

export interface BrokerHandle {
  readonly url: string;
  readonly port: number;
  readonly nodeId: NodeId;
  readonly region: string;
  /** The hub's state on this node (for tests and diagnostics). */
  hub(name: string): Hub | undefined;
  /** Live nodes this node knows of (itself included). */
  nodes(): NodeHeartbeat[];
  /**
   * Takes the node out of service without losing anything (see node/drain.ts); close() after it.
   * Readiness answers 503 "draining" from the first moment.
   */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export async function startBroker(options: BrokerOptions): Promise<BrokerHandle> {
  if (!options.accessKey) throw new RegioError(ErrorCode.TokenMissing, "startBroker: accessKey is required");
  const accessKeys = options.accessKey
    .split(",")
    .map((key) => key.trim())
    .filter(Boolean);
  const weak = weakAccessKey(accessKeys);
  if (weak) throw new ConfigError(`startBroker: ${weak}`);
  const nodeId = NodeId(options.nodeId ?? randomUUID());
  const region = options.region ?? "local";
  const log = options.logger ?? createLogger({ node: nodeId, region });
  const replicator = options.replicator ?? new InProcessBus(true).connect(nodeId);
  const leaseMs = options.leaseMs ?? 10_000;
  const startedAt = Date.now();
  const telemetry = options.telemetry ?? localTelemetry();
  // Any origin by default: engine.io then answers with CORS headers as the node's own refusals do.
  const cors = options.cors ?? { origin: true };
  const allowedOrigins = originList(cors);

  const cluster: ClusterMembership = new ClusterMembership({
    nodeId,
    region,
    leaseMs,
    heartbeatMs: options.heartbeatMs,
    nodeUrlPatterns: options.nodeUrlPatterns,
    replicator,
    log,
    describe: () => ({ appServers: hubs.appServers(), sessions: hubs.sessionCount() }),
    onNodeGone: (gone, how) => {
      // A node whose lease ran out may only be paused or cut off: its sockets are kept aside.
      const removed = hubs.sum((hub) => hub.nodeGone(gone, how === "expired"));
      if (removed > 0)
        log.warn(
          { gone, how, removedSockets: removed },
          "took the sockets of a node that left out of the view",
        );
    },
    onNodeJoined: (joined) => {
      const restored = hubs.sum((hub) => hub.nodeBack(joined.nodeId, joined.incarnation));
      if (restored > 0)
        log.info(
          { node: joined.nodeId, restoredSockets: restored },
          "a node was heard again; its sockets are back in the view",
        );
      // App servers learn the region's nodes from Hello: tell them there is a new one to link to.
      for (const hub of hubs.values()) hub.announceNodes();
    },
    sweep: (isAlive, graceMs) => {
      const removed = hubs.sum((hub) => hub.sweepOrphans(isAlive, graceMs));
      hubs.dropEmpty();
      return removed;
    },
  });
  const pingInterval = options.pingInterval ?? 25_000;
  const pingTimeout = options.pingTimeout ?? 20_000;
  const hubs = new HubRegistry(
    {
      nodeId,
      incarnation: cluster.incarnation,
      region,
      replicator,
      log,
      tracing: telemetry.tracing,
      heartbeats: new HeartbeatSchedule({ pingIntervalMs: pingInterval, pingTimeoutMs: pingTimeout }),
      engineOptions: {
        pingInterval,
        pingTimeout,
        maxHttpBufferSize: options.maxHttpBufferSize ?? 1e6,
        cors,
        transports: ["polling", "websocket"],
        // engine.io applies CORS to polling only: a new session over WebSocket is checked here too.
        allowRequest: (req, callback) => {
          const origin = req.headers.origin;
          if (!origin || !allowedOrigins || allowedOrigins.includes(origin)) return callback(null, true);
          callback(`origin '${origin}' is not allowed`, false);
        },
      },
      connectTimeoutMs: options.connectTimeout ?? 45_000,
      maxClientQueueBytes: options.maxClientQueueBytes ?? 16 * 1024 * 1024,
      maxOperationBytes: options.maxOperationBytes ?? DEFAULT_MAX_OPERATION_BYTES,
      recovery: {
        windowMs: options.recoveryWindowMs ?? DEFAULT_RECOVERY_WINDOW_MS,
        maxBytes: options.recoveryMaxBytes ?? 64 * 1024 * 1024,
      },
      historyFrom: () => replicator.historyFrom?.() ?? startedAt,
      nodes: () => cluster.regionNodes(),
      remoteAppServers: (hub) => cluster.remoteAppServers(hub),
    },
    options.maxHubs ?? 1000,
  );

  let started = false;
  let draining = false;
  const drain = async () => {
    if (draining) return;
    draining = true;
    await drainHubs(hubs, log);
  };
  let linkCounter = 0;
  telemetry.observe({
    hubs: () => hubs.values(),
    replicator,
    ready: () => started && !draining && replicator.status().ready,
  });
  const linkServer = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  const router = new HttpRouter({
    nodeId,
    region,
    accessKeys,
    log,
    linkServer,
    hub: (name) => hubs.get(name),
    nodeUrl: (id) => cluster.directory.get(id)?.url,
    forwardTimeoutMs: longPollTimeoutMs(pingInterval, pingTimeout),
    relayFor: (hub) => cluster.relayFor(hub),
    allowedOrigins,
    corsCredentials: typeof cors === "object" && cors.credentials === true,
    readiness: () => {
      if (draining) return { ready: false, body: { status: "draining", nodeId, region } };
      const status = replicator.status();
      const ready = started && status.ready;
      // Only this node's own region decides; other regions are reported in `peers`, never as a 503.
      // Not started yet, whatever the replicator says: the body must not say ready anywhere.
      const replication = ready || !status.ready ? status : { ...status, ready: false, detail: "starting" };
      return {
        ready,
        body: {
          status: ready ? "ready" : "not ready",
          nodeId,
          region,
          replication,
          peers: status.peers,
          hubs: hubs.summary(),
        },
      };
    },
    admitsHub: (hub) => hubs.admits(hub),
    requestDrain: () => (options.onDrainRequest ?? (() => void drain()))(),
    metrics: () => telemetry.prometheusText(),
    acceptLink: ({ hub, appServerId }, ws, readsSessionMessages) => {
      const link = new AppLink(`${nodeId}/${++linkCounter}`, appServerId, ws, log, {
        maxBufferedBytes: options.maxLinkBufferedBytes,
        readsSessionMessages,
      });
      const opened = hubs.open(hub);
      if (opened) opened.addLink(link);
      else link.close(1013, "this node serves as many hubs as it may");
    },
  });
  const server = createServer((req, res) => router.onRequest(req, res));
  server.on("upgrade", (req, socket, head) => router.onUpgrade(req, socket as Socket, head));
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 7400, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  cluster.advertisedUrl = options.advertisedUrl ?? url;

  await replicator.start({
    record(record) {
      // One-hop rule: a node never acts twice on its own records (implementations do not echo them).
      if (record.origin.nodeId === nodeId && !record.history) return;
      // Events open their hub (they are verified records): its recovery log must be complete.
      hubs.open(record.hub)?.onReplicated(record);
    },
    membership(record) {
      if (record.owner.nodeId === nodeId) return;
      const hub = hubs.open(record.hub);
      if (hub) hub.onMembership(record);
      else log.warn({ hub: record.hub }, "membership record of a hub past --max-hubs; dropped");
    },
    heartbeat(beat) {
      cluster.onHeartbeat(beat);
    },
  });
  started = true;
  cluster.start();
  log.info({ url, advertisedUrl: cluster.advertisedUrl }, "broker listening");

  return {
    url,
    port,
    nodeId,
    region,
    hub: (name) => hubs.get(name),
    nodes: () => cluster.directory.list(),
    drain,
    async close() {
      hubs.close();
      cluster.leave();
      for (const client of linkServer.clients) client.terminate();
      router.closePiped();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await replicator.close();
      await telemetry.shutdown();
      log.info("broker stopped");
    },
  };
}

/** The origins a CORS configuration allows, when it names them; undefined when it allows any. */
function originList(cors: NonNullable<BrokerOptions["cors"]>): string[] | undefined {
  const origin = typeof cors === "object" ? cors.origin : undefined;
  if (typeof origin === "string") return origin === "*" ? undefined : [origin];
  if (Array.isArray(origin) && origin.every((o): o is string => typeof o === "string")) return origin;
  return undefined;
}
