/**
 * Idle clients: what each costs the server in memory, and what their pings cost in CPU, Regio (a
 * broker node and an app server, separate processes) against plain socket.io, in one run. N
 * WebSocket clients in this process send the headers a browser sends (user agent, client hints,
 * a cookie of its own), then stay idle.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import { measure, startChild, stopAll, type Child } from "./server-process.ts";

export interface ServerCost {
  /** V8 heap per client after full collections, bytes. */
  heapPerClient: number;
  rssPerClient: number;
  /** CPU over one ping interval (every client pinged once), as a share of one core. */
  pingCpuShare: number;
}

export interface IdleResult {
  clients: number;
  headerBytes: number;
  pingIntervalMs: number;
  plain: ServerCost;
  broker: ServerCost;
  app: ServerCost;
}

/** socket.io's and the broker's default: each client is pinged once in this time. */
const PING_INTERVAL_MS = 25_000;
/** Time for the last clients' joins to reach the broker before the heap is measured. */
const SETTLE_MS = 2_000;

/** What a desktop Chrome sends with a WebSocket upgrade, with a cookie of its own per client. */
export function browserHeaders(): Record<string, string> {
  return {
    "user-agent":
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "accept-language": "en-US,en;q=0.9,de;q=0.8,fr;q=0.7",
    "accept-encoding": "gzip, deflate, br, zstd",
    "cache-control": "no-cache",
    pragma: "no-cache",
    origin: "https://app.example.com",
    "sec-ch-ua": '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
    "sec-ch-ua-mobile": "?0",
    "sec-ch-ua-platform": '"Windows"',
    cookie: `_ga=GA1.1.${randomBytes(8).readBigUInt64BE()}.1732700000; session=${randomBytes(32).toString("hex")}; prefs=theme%3Ddark%26lang%3Den; _gid=GA1.2.${randomBytes(6).readUIntBE(0, 6)}.1732700000`,
  };
}

/** `clients` socket.io-clients with a browser's headers, WebSocket only, connected in batches. */
export async function connectAll(
  url: string,
  path: string | undefined,
  clients: number,
): Promise<ClientSocket[]> {
  const sockets: ClientSocket[] = [];
  // In batches: 10,000 handshakes at once would time out on a 2-core machine.
  for (let first = 0; first < clients; first += 250) {
    const batch = Array.from({ length: Math.min(250, clients - first) }, () =>
      connectClient(url, {
        path,
        transports: ["websocket"],
        forceNew: true,
        reconnection: false,
        extraHeaders: browserHeaders(),
      }),
    );
    sockets.push(...batch);
    await Promise.all(
      batch.map(
        (socket) =>
          new Promise<void>((resolve, reject) => {
            socket.once("connect", () => resolve());
            socket.once("connect_error", reject);
          }),
      ),
    );
  }
  return sockets;
}

async function costs(children: Child[], url: string, path: string, clients: number): Promise<ServerCost[]> {
  const before = await Promise.all(children.map((child) => measure(child, "measure")));
  const sockets = await connectAll(url, path, clients);
  try {
    await delay(SETTLE_MS);
    const loaded = await Promise.all(children.map((child) => measure(child, "measure")));
    const cpuFrom = await Promise.all(children.map((child) => measure(child, "cpu")));
    const startedAt = performance.now();
    await delay(PING_INTERVAL_MS);
    const cpuTo = await Promise.all(children.map((child) => measure(child, "cpu")));
    const wallMicros = (performance.now() - startedAt) * 1000;
    return children.map((_, i) => ({
      heapPerClient: (loaded[i]!.heapUsed - before[i]!.heapUsed) / clients,
      rssPerClient: (loaded[i]!.rss - before[i]!.rss) / clients,
      pingCpuShare: (cpuTo[i]!.cpuMicros - cpuFrom[i]!.cpuMicros) / wallMicros,
    }));
  } finally {
    for (const socket of sockets) socket.disconnect();
  }
}

export async function idleMemory(clients = 10_000): Promise<IdleResult> {
  const headerBytes = Object.entries(browserHeaders()).reduce(
    (sum, [k, v]) => sum + k.length + v.length + 4,
    0,
  );
  const children: Child[] = [];
  try {
    const plain = await startChild("plain");
    children.push(plain);
    const [plainCost] = await costs([plain], plain.url!, plain.path!, clients);
    await stopAll(children.splice(0));

    const broker = await startChild("broker");
    children.push(broker);
    const app = await startChild("app", { REGIO_BENCH_BROKER: broker.url! });
    children.push(app);
    const [brokerCost, appCost] = await costs([broker, app], broker.url!, app.path!, clients);
    return {
      clients,
      headerBytes,
      pingIntervalMs: PING_INTERVAL_MS,
      plain: plainCost!,
      broker: brokerCost!,
      app: appCost!,
    };
  } finally {
    await stopAll(children);
  }
}
