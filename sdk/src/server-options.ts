import type { Server } from "socket.io";
import { serverOptionsOf } from "./internals/socket-io.ts";

/**
 * socket.io Server options that set engine.io's HTTP-level behaviour. With Regio the broker node runs
 * engine.io for the app's clients, so these take effect there (its flags), not in the app server.
 */
const BROKER_OPTIONS: Record<string, string> = {
  path: "clients connect at the broker's /clients/socketio/hubs/<hub> path",
  pingInterval: "--ping-interval of the broker",
  pingTimeout: "--ping-timeout of the broker",
  maxHttpBufferSize: "--max-http-buffer-size of the broker",
  cors: "--cors-origin (and --cors-credentials) of the broker",
  allowRequest: "the broker answers the client's handshake; use a socket.io middleware (io.use) instead",
  transports: "the broker serves polling and WebSocket",
  allowUpgrades: "the broker serves polling and WebSocket, with upgrades",
  upgradeTimeout: "the broker's engine.io default",
  perMessageDeflate: "the broker's engine.io default",
  httpCompression: "the broker's engine.io default",
  wsEngine: "the broker's engine.io default",
  cookie: "the broker answers the client's HTTP requests: no cookie from the app server reaches it",
  allowEIO3: "the broker's engine.io default",
  serveClient: "the app server serves no HTTP for Regio's clients",
  addTrailingSlash: "the broker's hub paths accept both",
  initialPacket: "the broker writes the handshake",
};

/** Options Regio replaces in the app server itself. */
const REPLACED_OPTIONS: Record<string, string> = {
  adapter: "Regio's adapter replaces it: broadcasts and rooms go through the broker",
};

/**
 * The options the app set on its Server that have no effect once it is served through Regio, each
 * with what applies instead. Reported when useRegio is called, never ignored silently.
 */
export function ineffectiveOptions(io: Server): string[] {
  const options = serverOptionsOf(io);
  const notes: string[] = [];
  for (const [name, instead] of Object.entries({ ...BROKER_OPTIONS, ...REPLACED_OPTIONS })) {
    if (options[name] !== undefined)
      notes.push(`socket.io option '${name}' has no effect with Regio: ${instead}`);
  }
  return notes;
}
