import { afterEach, describe, expect, it } from "vitest";
import type { BrokerHandle } from "@regio/broker";
import {
  connect,
  startAppServer,
  startTestBroker,
  stopAppServer,
  TRANSPORTS,
  type AppServer,
} from "../support/regio-harness.ts";
import { connected, once } from "../support/events.ts";
import type { Socket as ClientSocket } from "socket.io-client";

describe.each(Object.entries(TRANSPORTS))("smoke over %s", (_name, transport) => {
  let broker: BrokerHandle;
  let app: AppServer;
  const clients: ClientSocket[] = [];
  afterEach(async () => {
    clients.forEach((c) => c.disconnect());
    await stopAppServer(app);
    await broker.close();
  });

  it("echoes with ack and broadcasts", async () => {
    broker = await startTestBroker();
    app = await startAppServer(broker, (io) => {
      io.on("connection", (socket) => {
        socket.on("echo", (msg: string, ack: (r: string) => void) => ack(`echo:${msg}`));
        socket.on("shout", (msg: string) => io.emit("heard", msg));
      });
    });
    const a = await connected(connect(broker, "/", transport));
    const b = await connected(connect(broker, "/", transport));
    clients.push(a, b);
    expect(await a.emitWithAck("echo", "hi")).toBe("echo:hi");
    const heard = once<[string]>(b, "heard");
    a.emit("shout", "hello all");
    expect((await heard)[0]).toBe("hello all");
  });
});
