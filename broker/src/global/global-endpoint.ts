import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { CLIENT_PATH_PATTERN, HEALTH_PATH, READY_PATH } from "@regio/protocol";
import { createLogger, type Logger } from "../logger.ts";
import { forwardRequest, forwardUpgrade, requestSid, type ForwardOptions } from "../node/forward.ts";
import { replyOnSocket, sendJson } from "../node/http-replies.ts";
import type { GlobalConfig } from "./config.ts";
import { RegionProber, type HealthChange, type RegionStatus } from "./region-prober.ts";
import { RoutePicker } from "./route-picker.ts";

/** The status page: each region and node, healthy or not, round-trip time, last error. */
export const REGIONS_PATH = "/regions";

export type GlobalEndpointOptions = Partial<Omit<GlobalConfig, "regions">> &
  Pick<GlobalConfig, "regions"> & { logger?: Logger };

export interface GlobalEndpointHandle {
  readonly url: string;
  readonly port: number;
  /** What the prober sees now (the status page's content). */
  status(): RegionStatus[];
  close(): Promise<void>;
}

/**
 * The global endpoint for clients, the local stand-in for Azure Traffic Manager / Front Door: one
 * URL for every client; each new client goes to the nearest healthy region, requests of an existing
 * session to the node that owns it (see RoutePicker). It proxies HTTP (long-polling) and WebSocket
 * upgrades transparently and serves its own /healthz, /readyz (ready while a region is healthy) and
 * /regions.
 */
export async function startGlobalEndpoint(options: GlobalEndpointOptions): Promise<GlobalEndpointHandle> {
  const log = options.logger ?? createLogger({ component: "global" });
  const prober = new RegionProber(
    options.regions,
    {
      intervalMs: options.probeIntervalMs ?? 1000,
      timeoutMs: options.probeTimeoutMs ?? 1000,
      downAfter: options.downAfter ?? 2,
      upAfter: options.upAfter ?? 2,
    },
    (change) => logChange(log, change, prober.status()),
  );
  const picker = new RoutePicker(() => prober.status());
  const timeoutMs = options.proxyTimeoutMs ?? 50_000;
  const routeFor = (req: IncomingMessage): { target: URL; options: ForwardOptions } | undefined => {
    const route = picker.route(requestSid(req));
    return route && { target: route.target, options: { timeoutMs, retryElsewhere: route.fallback } };
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === HEALTH_PATH) return sendJson(res, 200, { status: "ok" });
    if (path === READY_PATH) {
      const regions = prober.status();
      const ready = regions.some((r) => r.healthy);
      return sendJson(res, ready ? 200 : 503, {
        status: ready ? "ready" : "no healthy region",
        regions: Object.fromEntries(regions.map((r) => [r.name, r.healthy])),
      });
    }
    if (path === REGIONS_PATH) return sendJson(res, 200, { regions: prober.status() });
    if (!CLIENT_PATH_PATTERN.test(req.url ?? "")) {
      return sendJson(res, 404, { code: "NOT_FOUND", message: `no route for ${path}` });
    }
    const route = routeFor(req);
    if (!route) return sendJson(res, 503, NO_REGION);
    forwardRequest(req, res, route.target, route.options);
  };

  const upgraded = new Set<Socket>();
  const onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    socket.on("error", () => socket.destroy());
    if (!CLIENT_PATH_PATTERN.test(req.url ?? "")) {
      return replyOnSocket(socket, 404, { code: "NOT_FOUND", message: "no route" });
    }
    const route = routeFor(req);
    if (!route) return replyOnSocket(socket, 503, NO_REGION);
    // Upgraded sockets leave the HTTP server's books: close() ends them itself.
    upgraded.add(socket);
    socket.once("close", () => upgraded.delete(socket));
    forwardUpgrade(req, socket, head, route.target, route.options);
  };

  const server = createServer(onRequest);
  server.on("upgrade", onUpgrade);
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 7300, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  // Route from the first request on: the first round of probes is in before it says it listens.
  await prober.start();
  log.info({ url, regions: prober.status().map((r) => `${r.name}:${r.healthy ? "up" : "down"}`) }, LISTENING);

  return {
    url,
    port,
    status: () => prober.status(),
    async close() {
      prober.stop();
      for (const socket of upgraded) socket.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** The log line tests and scripts wait for. */
export const LISTENING = "global endpoint listening";

const NO_REGION = { code: "NO_HEALTHY_REGION", message: "no region is healthy now; retry later" };

function logChange(log: Logger, { region, node }: HealthChange, regions: RegionStatus[]): void {
  const regionHealthy = regions.find((r) => r.name === region)?.healthy ?? false;
  const fields = { region, node: node.url, nodeId: node.nodeId, regionHealthy };
  if (node.healthy) log.info(fields, "node is back: it gets requests again");
  else log.warn({ ...fields, error: node.lastError }, "node is out: it gets no new requests");
}
