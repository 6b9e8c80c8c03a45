import { Server, type ServerOptions } from "socket.io";
import {
  io as connectClient,
  type ManagerOptions,
  type Socket as ClientSocket,
  type SocketOptions,
} from "socket.io-client";
import { startBroker, type BrokerHandle, type BrokerOptions } from "@regio/broker";
import { useRegio, type RegioHandle, type RegioOptions } from "@regio/sdk";
import { clientPath, formatConnectionString } from "@regio/protocol";

// At least 32 bytes, as every node requires of an access key.
export const ACCESS_KEY = "test-access-key-of-at-least-32-bytes";
export const HUB = "chat";

export interface AppServer {
  io: Server;
  regio: RegioHandle;
}

/** A broker on a free port of 127.0.0.1, silent unless REGIO_LOG_LEVEL says otherwise. */
export async function startTestBroker(options: Partial<BrokerOptions> = {}): Promise<BrokerHandle> {
  return startBroker({
    accessKey: ACCESS_KEY,
    port: 0,
    ...options,
    logger: options.logger,
  });
}

/** An app server: a plain socket.io Server (no HTTP server of its own) plugged into the broker. */
export async function startAppServer(
  broker: { url: string },
  setup: (io: Server) => void = () => {},
  serverOptions: Partial<ServerOptions> = {},
  regioOptions: Partial<RegioOptions> = {},
): Promise<AppServer> {
  const io = new Server(serverOptions);
  setup(io);
  const regio = useRegio(io, {
    hub: HUB,
    connectionString: formatConnectionString(broker.url, ACCESS_KEY),
    ...regioOptions,
  });
  await regio.ready;
  return { io, regio };
}

/** io.close() first, as an app would: sockets see "server shutting down", then the link closes. */
export async function stopAppServer(app: AppServer): Promise<void> {
  await app.io.close();
  await app.regio.close();
}

type ClientOptions = Partial<ManagerOptions & SocketOptions>;

/** A real socket.io-client to the broker's hub path; not connected until the caller waits for it. */
export function connect(broker: { url: string }, nsp = "/", options: ClientOptions = {}): ClientSocket {
  return connectClient(broker.url + (nsp === "/" ? "" : nsp), {
    path: clientPath(HUB),
    forceNew: true,
    reconnection: false,
    ...options,
  });
}

export const TRANSPORTS: Record<string, ClientOptions> = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"] },
  upgrade: {},
};
