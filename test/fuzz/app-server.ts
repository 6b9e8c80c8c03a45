/**
 * The app server under test, as its own process: `node --conditions=@regio/source --import tsx test/fuzz/app-server.ts`.
 *
 * Two plain socket.io Servers with the SDK: one linked to the real node (hub "chat"; the fuzzed
 * clients and the bystanders are its clients), one linked to the fuzzer's fake node (hub "fuzz";
 * every frame it gets is generated). Both run the same handlers, written as a careful app writes
 * them (input checked, the SDK's typed errors caught), so that client input flows through the
 * app's real code paths: engine middlewares on the handshake (express-session, and one that
 * refuses some clients), echo with ack, rooms and socket.data from client input, broadcasts of what
 * it got (with and without acks), fetchSockets, serverSideEmit.
 *
 * Prints `{"ready":true}` once both links are up; answers a line "stats" on stdin with a JSON line of
 * what it caught; exits when stdin ends (its parent is gone) or on SIGTERM.
 */
import type { IncomingMessage } from "node:http";
import { createInterface } from "node:readline";
import session from "express-session";
import { Server, type Namespace, type Socket } from "socket.io";
import { RegioError, useRegio, type RegioHandle } from "@regio/sdk";
import { formatConnectionString } from "@regio/protocol";

/** What the app saw, by kind: the test prints it, and fails on link errors from the real node. */
export interface AppServerStats {
  /** Typed errors the SDK threw into the app's emits (PAYLOAD_TOO_LARGE, BUFFER_FULL, ...), by code. */
  thrown: Record<string, number>;
  /** Rejections of the app's awaited calls (timeouts, failed requests), by error name and message. */
  rejected: Record<string, number>;
  /** Link errors the SDK reported through onError, by hub and code. */
  linkErrors: Record<string, number>;
  /** Connections each Server saw, and those its engine middlewares refused. */
  connections: Record<string, number>;
}

const stats: AppServerStats = { thrown: {}, rejected: {}, linkErrors: {}, connections: {} };
const bump = (counts: Record<string, number>, key: string) => (counts[key] = (counts[key] ?? 0) + 1);

/** How long a broadcast with ack waits for the clients' answers. */
const QUESTION_TIMEOUT_MS = 300;

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

/** An emit that the SDK may refuse with a typed error (too large, buffer full): the app carries on. */
function attempt(action: () => void): void {
  try {
    action();
  } catch (error) {
    if (!(error instanceof RegioError)) throw error;
    bump(stats.thrown, error.code);
  }
}

/** An awaited call (fetchSockets, emitWithAck): it may time out or fail; the app carries on. */
function settle(promise: Promise<unknown>): void {
  promise.catch((error: unknown) => {
    const key =
      error instanceof RegioError
        ? `RegioError ${error.code}`
        : `${(error as Error).name}: ${(error as Error).message}`;
    bump(stats.rejected, key.slice(0, 120));
  });
}

function reply(ack: unknown, value: unknown): void {
  if (typeof ack === "function") (ack as (value: unknown) => void)(value);
}

const isRooms = (value: unknown): value is string | string[] =>
  typeof value === "string" || (Array.isArray(value) && value.every((room) => typeof room === "string"));

function serve(io: Server, hub: string): void {
  const onConnection = (socket: Socket) => {
    bump(stats.connections, hub);
    const nsp: Namespace = socket.nsp;
    socket.on("echo", (value: unknown, ack: unknown) => reply(ack, value));
    socket.on("join", (rooms: unknown) => {
      if (isRooms(rooms)) void socket.join(rooms);
    });
    socket.on("leave", (room: unknown) => {
      if (typeof room === "string") void socket.leave(room);
    });
    socket.on("set-data", (value: unknown) => {
      socket.data = value;
    });
    socket.on("tell", (room: unknown, value: unknown) => {
      if (typeof room === "string") attempt(() => nsp.to(room).emit("told", value));
    });
    socket.on("who", (room: unknown, ack: unknown) => {
      if (typeof room !== "string") return;
      settle(
        nsp
          .in(room)
          .fetchSockets()
          .then((sockets) =>
            reply(
              ack,
              sockets.map((s) => s.id),
            ),
          ),
      );
    });
    socket.on("ask", (room: unknown, value: unknown, ack: unknown) => {
      if (typeof room !== "string") return;
      settle(
        nsp
          .to(room)
          .timeout(QUESTION_TIMEOUT_MS)
          .emitWithAck("question", value)
          .then((answers: unknown[]) => reply(ack, answers.length)),
      );
    });
    socket.on("server-side", (value: unknown, ack: unknown) => {
      if (typeof ack !== "function") return attempt(() => nsp.serverSideEmit("fuzz", value));
      settle(nsp.serverSideEmitWithAck("fuzz", value).then((responses) => reply(ack, responses.length)));
    });
  };
  for (const nsp of [io.of("/"), io.of("/fuzz")]) {
    nsp.on("connection", onConnection);
    // Other app servers' serverSideEmit: answered when they wait for it.
    nsp.on("fuzz", (...args: unknown[]) => reply(args[args.length - 1], "seen"));
  }
}

/** express-session reads the handshake's cookie header, whatever a client (or a node) put there. */
const sessions = session({ secret: "fuzz", resave: false, saveUninitialized: false });

function link(io: Server, hub: string, url: string): RegioHandle {
  serve(io, hub);
  const regio = useRegio(io, { hub, connectionString: formatConnectionString(url, env("REGIO_ACCESS_KEY")) });
  // Engine middlewares run on each session's handshake request (useRegio must be called first).
  io.engine.use(sessions);
  io.engine.use((req: IncomingMessage, _res: unknown, next: (error?: Error) => void) =>
    next(req.headers["x-banned"] ? new Error("banned") : undefined),
  );
  io.engine.on("connection_error", () => bump(stats.connections, `${hub} refused`));
  // The fuzzed hub's errors by code; the real node's with their message (there should be none).
  regio.onError((error) =>
    bump(
      stats.linkErrors,
      hub === "chat" ? `${hub} ${error.code}: ${error.message.slice(0, 200)}` : `${hub} ${error.code}`,
    ),
  );
  return regio;
}

const main = new Server();
const mainLink = link(main, "chat", env("REGIO_FUZZ_NODE_URL"));
const fuzz = new Server();
const fuzzLink = link(fuzz, "fuzz", env("REGIO_FUZZ_FAKE_NODE_URL"));

async function stop(): Promise<never> {
  await Promise.all([main.close(), fuzz.close()]);
  await Promise.all([mainLink.close(), fuzzLink.close()]);
  process.exit(0);
}
process.once("SIGTERM", () => void stop());

const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (line.trim() === "stats") process.stdout.write(JSON.stringify({ stats }) + "\n");
});
input.once("close", () => void stop());

await Promise.all([mainLink.ready, fuzzLink.ready]);
process.stdout.write(JSON.stringify({ ready: true }) + "\n");
