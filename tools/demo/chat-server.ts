import { readFile } from "node:fs/promises";
import { createServer, type Server as HttpServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { trace, type TracerProvider } from "@opentelemetry/api";
import { Server } from "socket.io";
import { useRegio, type RegioHandle } from "@regio/sdk";
import { clientPath } from "@regio/protocol";

/**
 * The demo app: an ordinary socket.io chat with rooms. The only Regio-specific line is the
 * useRegio() call; the page connects to the broker instead of to this server.
 */
export interface ChatServer {
  pageUrl: string;
  io: Server;
  regio: RegioHandle;
  close(): Promise<void>;
}

export async function startChatServer(options: {
  hub: string;
  connectionString: string;
  /** Where browsers reach the brokers: label -> URL, the first is the default (the global endpoint). */
  brokerUrls: Record<string, string>;
  port?: number;
  /** The app's OpenTelemetry (default: the global provider; none registered: nothing is traced). */
  tracerProvider?: TracerProvider;
}): Promise<ChatServer> {
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer("regio-demo-chat");
  const io = new Server();
  io.use((socket, next) => {
    const name = String(socket.handshake.auth.name ?? "").trim();
    if (!name || name.length > 32) return next(new Error("pick a name of 1 to 32 characters"));
    socket.data.name = name;
    next();
  });
  io.on("connection", (socket) => {
    socket.on("join", async (room: unknown, ack?: (members: string[]) => void) => {
      if (typeof room !== "string" || !/^[\w-]{1,32}$/.test(room)) return;
      for (const joined of socket.rooms) if (joined !== socket.id) socket.leave(joined);
      socket.join(room);
      io.to(room).emit("system", `${socket.data.name as string} joined #${room}`);
      const members = await io.in(room).fetchSockets();
      ack?.(members.map((m) => m.data.name as string));
    });
    socket.on("say", (text: unknown) => {
      if (typeof text !== "string" || text.length === 0 || text.length > 500) return;
      // The app's own span, in the trace the client's message started on its node.
      tracer.startActiveSpan("say", (span) => {
        span.setAttribute("chat.from", String(socket.data.name));
        for (const room of socket.rooms) {
          if (room !== socket.id) io.to(room).emit("said", { from: socket.data.name, text, at: Date.now() });
        }
        span.end();
      });
    });
  });
  const regio = useRegio(io, {
    hub: options.hub,
    connectionString: options.connectionString,
    tracerProvider: options.tracerProvider,
  });

  const require = createRequire(import.meta.url);
  const clientScript = require.resolve("socket.io-client/dist/socket.io.js");
  const page = new URL("./public/index.html", import.meta.url);
  const http: HttpServer = createServer(async (req, res) => {
    if (req.url === "/socket.io.js") {
      res.writeHead(200, { "Content-Type": "application/javascript" });
      return res.end(await readFile(clientScript));
    }
    if (req.url === "/config.json") {
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end(JSON.stringify({ brokers: options.brokerUrls, path: clientPath(options.hub) }));
    }
    if (req.url === "/" || req.url === "/index.html") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      return res.end(await readFile(page));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 3000, "127.0.0.1", resolve));
  const pageUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
  await regio.ready;
  return {
    pageUrl,
    io,
    regio,
    async close() {
      await io.close();
      await regio.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
