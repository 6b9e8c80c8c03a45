import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import session from "express-session";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Server } from "socket.io";
import { startLocalCluster, type BrokerHandle, type LocalCluster } from "@regio/broker";
import { ErrorCode, RegioError, useRegio, type RegioHandle } from "@regio/sdk";
import { formatConnectionString } from "@regio/protocol";
import { ACCESS_KEY, connect, HUB, startTestBroker } from "../support/regio-harness.ts";
import { connected, once, until } from "../support/events.ts";
import { uniqueTopics } from "../support/topics.ts";

declare module "express-session" {
  interface SessionData {
    user?: string;
  }
}

/**
 * The usual shape of an existing app: express and socket.io on one HTTP server, express-session
 * shared with socket.io through `io.engine.use()`. useRegio is the one added line.
 */
describe("an existing express app with sessions", () => {
  let broker: BrokerHandle;
  let httpServer: HttpServer;
  let io: Server;
  let regio: RegioHandle;
  let appUrl: string;
  const connectionErrors: Array<{ code: number; message: string; context: { name: string } }> = [];
  let bannedConnected = 0;

  beforeAll(async () => {
    broker = await startTestBroker();
    const app = express();
    const sessionMiddleware = session({
      secret: "a-secret-for-tests",
      resave: false,
      saveUninitialized: false,
    });
    app.use(sessionMiddleware);
    app.get("/login", (req, res) => {
      req.session.user = String(req.query.user);
      res.send("ok");
    });
    httpServer = createServer(app);
    io = new Server(httpServer);
    regio = useRegio(io, { hub: HUB, connectionString: formatConnectionString(broker.url, ACCESS_KEY) });
    io.engine.use(sessionMiddleware);
    // An engine middleware that refuses some handshakes, as apps do for banned clients.
    io.engine.use((req: { headers: Record<string, string> }, _res: unknown, next: (e?: Error) => void) =>
      next(req.headers["x-banned"] ? new Error("banned") : undefined),
    );
    io.engine.on("connection_error", (error: (typeof connectionErrors)[number]) =>
      connectionErrors.push(error),
    );
    io.on("connection", (socket) => {
      if (socket.handshake.headers["x-banned"]) bannedConnected++;
      const request = socket.request as unknown as { session?: { user?: string } };
      socket.on("whoami", (ack: (user: string | undefined) => void) => ack(request.session?.user));
    });
    await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    appUrl = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
    await regio.ready;
  });

  afterAll(async () => {
    await io.close();
    await regio.close();
    await broker.close();
  });

  it("runs io.engine.use() middlewares on each session: express-session's session is on socket.request", async () => {
    const login = await fetch(`${appUrl}/login?user=ada`);
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    for (const transports of [["websocket"], ["polling"]]) {
      const client = await connected(connect(broker, "/", { transports, extraHeaders: { cookie } }));
      expect(await client.timeout(5000).emitWithAck("whoami")).toBe("ada");
      client.disconnect();
    }
  });

  it("refuses a session an engine middleware refuses, and says so with connection_error", async () => {
    const client = connect(broker, "/", { transports: ["websocket"], extraHeaders: { "x-banned": "yes" } });
    await Promise.race([once(client, "connect_error"), once(client, "disconnect")]);
    await until(() => connectionErrors.length > 0, "connection_error was emitted");
    expect(connectionErrors[0]).toMatchObject({
      code: 3,
      message: "Bad request",
      context: { name: "MIDDLEWARE_FAILURE" },
    });
    expect(client.connected).toBe(false);
    expect(bannedConnected).toBe(0);
    client.disconnect();
  });

  it("refuses listeners of engine.io's HTTP response events with UNSUPPORTED, which it could never honour", () => {
    for (const event of ["initial_headers", "headers"]) {
      let refusal: unknown;
      try {
        io.engine.on(event, () => {});
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(RegioError);
      expect((refusal as RegioError).code).toBe(ErrorCode.Unsupported);
    }
  });
});

describe("what useRegio cannot honour, and a broker it cannot reach", () => {
  it("reports Server options that have no effect with Regio, when useRegio is called", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => {
      if (warning.name === "RegioWarning") warnings.push(warning);
    };
    process.on("warning", onWarning);
    const io = new Server({ pingInterval: 1000, maxHttpBufferSize: 10, cors: { origin: "*" } });
    const regio = useRegio(io, {
      hub: HUB,
      connectionString: "Endpoint=http://127.0.0.1:1;AccessKey=k;Version=1.0;",
    });
    regio.onError(() => {});
    try {
      await until(() => warnings.length >= 3, "a warning for each option");
      expect(warnings.map((w) => w.message).join("\n")).toMatch(/'pingInterval'.*--ping-interval/);
      expect(warnings.map((w) => w.message).join("\n")).toMatch(/'maxHttpBufferSize'/);
      expect(warnings.map((w) => w.message).join("\n")).toMatch(/'cors'/);
    } finally {
      process.off("warning", onWarning);
      await io.close();
      await regio.close();
    }
  });

  it("reports an unreachable broker to onError with its URL, and whenReady times out saying why", async () => {
    const io = new Server();
    const regio = useRegio(io, {
      hub: HUB,
      connectionString: "Endpoint=http://127.0.0.1:9;AccessKey=k;Version=1.0;",
    });
    try {
      const error = await new Promise<RegioError>((resolve) => regio.onError(resolve));
      expect(error.code).toBe(ErrorCode.LinkDown);
      expect(error.message).toContain("http://127.0.0.1:9");
      const timeout = await regio.whenReady(300).catch((e: unknown) => e);
      expect(timeout).toBeInstanceOf(RegioError);
      expect((timeout as RegioError).code).toBe(ErrorCode.Timeout);
      expect((timeout as RegioError).message).toContain("http://127.0.0.1:9");
    } finally {
      await io.close();
      await regio.close();
    }
  });
});

describe("read your writes", () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await startLocalCluster({
      accessKey: ACCESS_KEY,
      kafka: { eastus: inject("kafka").eastus! },
      nodesPerRegion: 2,
      topics: uniqueTopics("ryw"),
      logLevel: process.env.REGIO_LOG_LEVEL ?? "silent",
    });
  }, 120_000);
  afterAll(async () => {
    await cluster.close();
  });

  it("fetchSockets right after join sees the join, though the session lives on another node", async () => {
    const [first, second] = cluster.regions.get("eastus")! as [BrokerHandle, BrokerHandle];
    const io = new Server();
    io.on("connection", (socket) => {
      socket.on("join", async (room: string, ack: (ids: string[]) => void) => {
        socket.join(room);
        ack((await io.in(room).fetchSockets()).map((s) => s.id));
      });
    });
    // Operations and requests go to the first node; the clients' sessions live on the second.
    const regio = useRegio(io, { hub: HUB, connectionString: formatConnectionString(first.url, ACCESS_KEY) });
    try {
      await regio.ready;
      await until(
        () => second.hub(HUB)?.hasAppServers === true,
        "the app server links to the second node too",
      );
      for (let i = 0; i < 6; i++) {
        const client = await connected(connect(second, "/", { transports: ["websocket"] }));
        expect(await client.timeout(5000).emitWithAck("join", `room-${i}`)).toEqual([client.id]);
        client.disconnect();
      }
    } finally {
      await io.close();
      await regio.close();
    }
  });
});
