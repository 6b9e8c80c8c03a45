import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type ServerOptions } from "socket.io";
import {
  io as connectClient,
  type ManagerOptions,
  type Socket as ClientSocket,
  type SocketOptions,
} from "socket.io-client";
import { clientPath } from "@regio/protocol";
import { startAppServer, startTestBroker, stopAppServer } from "../support/regio-harness.ts";

export type ClientOptions = Partial<ManagerOptions & SocketOptions>;

export interface Running {
  io: Server;
  /** A real socket.io-client, not yet waited for. */
  client(nsp?: string, options?: ClientOptions): ClientSocket;
  stop(): Promise<void>;
}

/** Where a scenario runs: the same app code, served by plain socket.io or through Regio. */
export interface Deployment {
  name: string;
  start(setup: (io: Server) => void, serverOptions?: Partial<ServerOptions>): Promise<Running>;
}

function clientFactory(url: string, path: string, transport: ClientOptions, opened: ClientSocket[]) {
  return (nsp = "/", options: ClientOptions = {}) => {
    const socket = connectClient(url + (nsp === "/" ? "" : nsp), {
      path,
      forceNew: true,
      reconnection: false,
      ...transport,
      ...options,
    });
    opened.push(socket);
    return socket;
  };
}

export function plainSocketIo(transport: ClientOptions): Deployment {
  return {
    name: "socket.io",
    async start(setup, serverOptions = {}) {
      const http = createServer();
      const io = new Server(http, serverOptions);
      setup(io);
      await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      const opened: ClientSocket[] = [];
      return {
        io,
        client: clientFactory(url, "/socket.io", transport, opened),
        async stop() {
          opened.forEach((socket) => socket.disconnect());
          await io.close();
        },
      };
    },
  };
}

export function regio(transport: ClientOptions): Deployment {
  return {
    name: "regio",
    async start(setup, serverOptions = {}) {
      const broker = await startTestBroker();
      const app = await startAppServer(broker, setup, serverOptions);
      const opened: ClientSocket[] = [];
      return {
        io: app.io,
        client: clientFactory(broker.url, clientPath("chat"), transport, opened),
        async stop() {
          opened.forEach((socket) => socket.disconnect());
          await stopAppServer(app);
          await broker.close();
        },
      };
    },
  };
}
