import type { Server, ServerOptions, Socket } from "socket.io";
import type { Socket as ClientSocket } from "socket.io-client";
import { collect, connected, once, until } from "../support/events.ts";
import type { ClientOptions } from "./deployments.ts";

export type Log = (entry: string) => void;

export interface ScenarioContext {
  io: Server;
  client(nsp?: string, options?: ClientOptions): ClientSocket;
  log: Log;
}

/**
 * A piece of a Socket.IO app and a script that drives it with real clients. Each step waits for
 * the event it causes, so the transcript (the log) is deterministic; the parity test runs every
 * scenario on plain socket.io and on Regio and requires the same transcript.
 */
export interface Scenario {
  name: string;
  serverOptions?: Partial<ServerOptions>;
  setup(io: Server, log: Log): void;
  run(ctx: ScenarioContext): Promise<void>;
}

const connectError = async (socket: ClientSocket): Promise<Error & { data?: unknown }> =>
  (await once<[Error & { data?: unknown }]>(socket, "connect_error"))[0];

export const scenarios: Scenario[] = [
  {
    name: "events and acknowledgements both ways",
    setup(io, log) {
      io.on("connection", (socket) => {
        log(`server: connection (recovered=${socket.recovered})`);
        socket.on("greet", (name: string, ack: (reply: string) => void) => ack(`hello ${name}`));
        socket.on("ask-client", async () => {
          log(`server: client answered ${await socket.emitWithAck("question", 41)}`);
          // Logged once the client also said it got "silent": under load the client may read it
          // after the 50 ms are up, and the two lines must come in one order on both servers.
          const [answer] = await Promise.allSettled([
            socket.timeout(50).emitWithAck("silent"),
            new Promise((resolve) => socket.once("got-silent", resolve)),
          ]);
          if (answer.status === "rejected") log(`server: ${(answer.reason as Error).message}`);
          socket.emit("done");
        });
        socket.onAny((event: string) => log(`server: onAny ${event}`));
      });
    },
    async run({ client, log }) {
      const socket = await connected(client());
      socket.on("question", (n: number, ack: (r: number) => void) => ack(n + 1));
      socket.on("silent", () => {
        log("client: got silent, not answering");
        socket.emit("got-silent");
      });
      log(`client: ${await socket.emitWithAck("greet", "ada")}`);
      socket.emit("ask-client");
      await once(socket, "done");
      const timedOut = await socket
        .timeout(50)
        .emitWithAck("nobody-answers")
        .catch((e: Error) => e.message);
      log(`client: ${String(timedOut)}`);
    },
  },
  {
    name: "namespaces: static, regex, function, invalid",
    setup(io, log) {
      io.of("/admin").on("connection", (socket) => log(`server: /admin connection ${socket.nsp.name}`));
      io.of(/^\/room-\d+$/).on("connection", (socket) => log(`server: regex connection ${socket.nsp.name}`));
      io.of((name, _auth, next) => next(null, name.startsWith("/fn-"))).on("connection", (socket) =>
        log(`server: function connection ${socket.nsp.name}`),
      );
    },
    async run({ client, log }) {
      await connected(client("/admin"));
      await connected(client("/room-42"));
      await connected(client("/fn-x"));
      log(`client: ${(await connectError(client("/nope"))).message}`);
    },
  },
  {
    name: "middleware: auth, query, headers, next(err) with data",
    setup(io, log) {
      io.use((socket, next) => {
        const { auth, query, headers } = socket.handshake;
        log(`server: auth=${JSON.stringify(auth)} q=${String(query.room)} h=${String(headers["x-app"])}`);
        if (auth.token !== "good")
          return next(Object.assign(new Error("not authorized"), { data: { retry: false } }));
        socket.data.user = auth.user;
        next();
      });
      io.of("/guarded").use((_socket, next) => next(new Error("guarded namespace")));
      io.on("connection", (socket) => log(`server: connected user ${String(socket.data.user)}`));
    },
    async run({ client, log }) {
      const options = { query: { room: "r1" }, extraHeaders: { "x-app": "parity" } };
      const bad = await connectError(client("/", { ...options, auth: { token: "bad" } }));
      log(`client: ${bad.message} ${JSON.stringify(bad.data)}`);
      await connected(client("/", { ...options, auth: { token: "good", user: "grace" } }));
      log(`client: ${(await connectError(client("/guarded"))).message}`);
    },
  },
  {
    name: "socket.use middleware rejects an event",
    setup(io, log) {
      io.on("connection", (socket) => {
        socket.use(([event], next) =>
          event === "forbidden" ? next(new Error("event not allowed")) : next(),
        );
        socket.on("error", (err) => {
          log(`server: error ${err.message}`);
          socket.emit("rejected", err.message);
        });
        socket.on("forbidden", () => log("server: forbidden handler ran"));
      });
    },
    async run({ client, log }) {
      const socket = await connected(client());
      socket.emit("forbidden");
      log(`client: rejected ${(await once(socket, "rejected"))[0]}`);
    },
  },
  {
    name: "rooms: join, leave, to, except, broadcast",
    setup(io, log) {
      io.on("connection", (socket) => {
        socket.on("join", (room: string, ack: () => void) => {
          socket.join(room);
          ack();
        });
        socket.on("leave", (room: string, ack: () => void) => {
          socket.leave(room);
          ack();
        });
        socket.on("say", (rooms: string[], except: string[], text: string) => {
          let operator = io.to(rooms);
          if (except.length) operator = operator.except(except);
          operator.emit("said", text);
        });
        socket.on("others", (text: string) => socket.broadcast.emit("said", text));
        socket.on("rooms?", (ack: (rooms: string[]) => void) =>
          ack([...socket.rooms].filter((r) => r !== socket.id)),
        );
      });
      void log;
    },
    async run({ client, log }) {
      const [a, b, c] = await Promise.all([client(), client(), client()].map(connected));
      const names = new Map([
        [a, "a"],
        [b, "b"],
        [c, "c"],
      ]);
      for (const s of [a, b, c]) s.on("said", (t: string) => log(`${names.get(s)}: ${t}`));
      await a!.emitWithAck("join", "red");
      await b!.emitWithAck("join", "red");
      await b!.emitWithAck("join", "blue");
      await c!.emitWithAck("join", "blue");
      log(`b rooms: ${(await b!.emitWithAck("rooms?")).sort().join(",")}`);
      const step = async (expected: ClientSocket[], send: () => void) => {
        const got = Promise.all(expected.map((s) => once(s, "said")));
        send();
        await got;
        await a!.emitWithAck("rooms?"); // a round trip, so that any stray extra delivery would show up first
      };
      await step([a!, b!], () => a!.emit("say", ["red"], [], "to red"));
      await step([a!, b!, c!], () => a!.emit("say", ["red", "blue"], [], "to red+blue once each"));
      await step([c!], () => a!.emit("say", ["blue"], ["red"], "blue except red"));
      await step([b!, c!], () => a!.emit("others", "everyone but a"));
      await b!.emitWithAck("leave", "red");
      await step([a!], () => c!.emit("say", ["red"], [], "red after b left"));
    },
  },
  {
    name: "binary payloads both ways, in events, acks and broadcasts",
    setup(io) {
      io.on("connection", (socket) => {
        socket.on("bytes", (data: Buffer, ack: (r: unknown) => void) => {
          ack({
            isBuffer: Buffer.isBuffer(data),
            length: data.length,
            reversed: Buffer.from(data).reverse(),
          });
          io.emit("broadcast-bytes", Buffer.from([1, 2, 3]), "tail");
        });
      });
    },
    async run({ client, log }) {
      const socket = await connected(client());
      const broadcast = once<[ArrayBuffer, string]>(socket, "broadcast-bytes");
      const reply = (await socket.emitWithAck("bytes", new Uint8Array([9, 8, 7, 6]))) as {
        isBuffer: boolean;
        length: number;
        reversed: ArrayBuffer;
      };
      log(
        `client: isBuffer=${reply.isBuffer} length=${reply.length} reversed=${[...new Uint8Array(reply.reversed)]}`,
      );
      const [bytes, tail] = await broadcast;
      log(`client: broadcast ${[...new Uint8Array(bytes)]} ${tail}`);
    },
  },
  {
    name: "compress flags",
    setup(io) {
      io.on("connection", (socket) => {
        socket.on("go", () => {
          socket.compress(false).emit("m", "uncompressed");
          io.compress(true).emit("m", "compressed broadcast");
          socket.emit("m", "last");
        });
      });
    },
    async run({ client, log }) {
      const socket = await connected(client());
      const got = collect<string>(socket, "m", 3);
      socket.emit("go");
      log(`client: ${(await got).join(" | ")}`);
    },
  },
  {
    name: "socket.data, fetchSockets, socketsJoin, socketsLeave, disconnectSockets",
    setup(io) {
      io.use((socket, next) => {
        socket.data.name = socket.handshake.auth.name;
        next();
      });
      io.on("connection", (socket) => {
        socket.join(`team-${String(socket.handshake.auth.team)}`);
        socket.on("inspect", async (team: string, ack: (r: unknown) => void) => {
          const sockets = await io.in(team).fetchSockets();
          ack(
            sockets
              .map((s) => `${String(s.data.name)}:${[...s.rooms].filter((r) => r !== s.id).join("+")}`)
              .sort(),
          );
        });
        socket.on("promote", async (ack: () => void) => {
          io.in("team-x").socketsJoin("promoted");
          io.in("team-y").socketsLeave("team-y");
          ack();
        });
        socket.on("announce", () => io.to("promoted").emit("news", "you are promoted"));
        socket.on("kick-x", () => io.in("team-x").disconnectSockets());
      });
    },
    async run({ client, log }) {
      const a = await connected(client("/", { auth: { name: "ann", team: "x" } }));
      const b = await connected(client("/", { auth: { name: "bob", team: "x" } }));
      const c = await connected(client("/", { auth: { name: "cy", team: "y" } }));
      log(`fetch x: ${(await a.emitWithAck("inspect", "team-x")).join(", ")}`);
      log(`fetch y: ${(await a.emitWithAck("inspect", "team-y")).join(", ")}`);
      await a.emitWithAck("promote");
      log(`fetch x after promote: ${(await a.emitWithAck("inspect", "team-x")).join(", ")}`);
      log(`fetch y after promote: ${(await a.emitWithAck("inspect", "team-y")).join(", ")}`);
      const news = Promise.all([once(a, "news"), once(b, "news")]);
      c.on("news", () => log("c: got news it should not have"));
      a.emit("announce");
      log(`news: ${(await news).map((n) => n[0]).join(" / ")}`);
      await c.emitWithAck("inspect", "team-y"); // a round trip on c: a wrongly delivered "news" would have arrived
      const kicked = Promise.all([once(a, "disconnect"), once(b, "disconnect")]);
      c.emit("kick-x");
      log(`kicked: ${(await kicked).map((k) => k[0]).join(" / ")}; c still connected: ${c.connected}`);
    },
  },
  {
    name: "disconnect from either side with the right reasons",
    setup(io, log) {
      io.on("connection", (socket: Socket) => {
        socket.on("disconnecting", (reason) => log(`server: disconnecting ${reason}`));
        socket.on("disconnect", (reason) => log(`server: disconnect ${reason}`));
        socket.on("kick", () => socket.disconnect());
        socket.on("close-me", () => socket.disconnect(true));
      });
    },
    async run({ client, io, log }) {
      const a = await connected(client());
      a.emit("kick");
      log(`a: ${(await once(a, "disconnect"))[0]}`);
      const b = await connected(client());
      b.emit("close-me");
      log(`b: ${(await once(b, "disconnect"))[0]}`);
      const c = await connected(client());
      const gone = new Promise<string>((resolve) =>
        io.of("/").sockets.forEach((s) => s.once("disconnect", (reason) => resolve(reason))),
      );
      c.disconnect();
      log(`c (client side) -> server saw: ${await gone}`);
      const d = await connected(client());
      const lost = new Promise<string>((resolve) =>
        io.of("/").sockets.forEach((s) => s.once("disconnect", (reason) => resolve(reason))),
      );
      d.io.engine.close(); // the transport goes away under the socket
      log(`d (transport) -> server saw: ${await lost}`);
      await until(() => io.of("/").sockets.size === 0, "every server socket is gone");
    },
  },
  {
    name: "broadcast with acknowledgements and timeout",
    setup(io) {
      io.on("connection", (socket) => {
        socket.on("poll", async (ack: (r: unknown) => void) => {
          const responses = await io.timeout(2000).emitWithAck("vote");
          let timeoutMessage = "";
          try {
            await io.timeout(100).emitWithAck("vote-slow");
          } catch (error) {
            timeoutMessage = (error as Error).message;
          }
          ack({ responses: (responses as number[]).sort(), timeoutMessage });
        });
      });
    },
    async run({ client, log }) {
      const voters = await Promise.all([client(), client(), client()].map(connected));
      voters.forEach((v, i) => v.on("vote", (ack: (n: number) => void) => ack(i * 10)));
      voters.forEach((v) => v.on("vote-slow", () => {}));
      log(`poll: ${JSON.stringify(await voters[0]!.emitWithAck("poll"))}`);
    },
  },
  {
    name: "onAnyOutgoing sees broadcasts, also when added in middleware",
    setup(io, log) {
      io.use((socket, next) => {
        const name = String(socket.handshake.auth.name);
        if (name === "early") socket.onAnyOutgoing((event: string) => log(`server: ${name} sent ${event}`));
        next();
      });
      io.on("connection", (socket) => {
        const name = String(socket.handshake.auth.name);
        if (name === "late")
          socket.prependAnyOutgoing((event: string) => log(`server: ${name} sent ${event}`));
        socket.on("go", () => io.emit("news", 1));
      });
    },
    async run({ client, log }) {
      const [early, late, quiet] = await Promise.all(
        ["early", "late", "quiet"].map((name) => connected(client("/", { auth: { name } }))),
      );
      const received = [early, late, quiet].map((socket) => once(socket, "news"));
      quiet!.emit("go");
      await Promise.all(received);
      log("clients: every one got news");
    },
  },
  {
    name: "a malformed Socket.IO packet closes only that client",
    setup(io, log) {
      io.on("connection", (socket) => {
        socket.on("error", (err) => log(`server: socket error ${err.message}`));
        socket.on("disconnect", (reason) => log(`server: disconnect ${reason}`));
        socket.on("still-there", (ack: (r: string) => void) => ack("yes"));
      });
    },
    async run({ client, log }) {
      const bystander = await connected(client());
      const offender = await connected(client());
      const closed = once<[string]>(offender, "disconnect");
      // An EVENT packet whose JSON never ends, written under the client library.
      (offender.io.engine as unknown as { send(data: string): void }).send('2["unterminated');
      log(`offender: ${(await closed)[0]}`);
      log(`bystander: ${await bystander.emitWithAck("still-there")}`);
    },
  },
];
