import { afterEach, describe, expect, it } from "vitest";
import type { Server } from "socket.io";
import type { Socket as ClientSocket } from "socket.io-client";
import type { BrokerHandle } from "@regio/broker";
import {
  connect,
  startAppServer,
  startTestBroker,
  stopAppServer,
  TRANSPORTS,
  type AppServer,
} from "../support/regio-harness.ts";
import { collect, connected, once, until } from "../support/events.ts";

describe.each(Object.entries(TRANSPORTS))("several app servers on one hub, over %s", (_name, transport) => {
  let broker: BrokerHandle;
  let apps: AppServer[] = [];
  let clients: ClientSocket[] = [];

  afterEach(async () => {
    clients.forEach((c) => c.disconnect());
    await Promise.all(apps.map(stopAppServer));
    await broker?.close();
    apps = [];
    clients = [];
  });

  const setup = (name: string) => (io: Server) => {
    io.on("connection", (socket) => {
      socket.data.server = name;
      socket.on("where", (ack: (server: string) => void) => ack(name));
    });
  };

  async function start(count: number, options = {}) {
    broker = await startTestBroker();
    for (let i = 0; i < count; i++) apps.push(await startAppServer(broker, setup(`app${i}`)));
    for (let i = 0; i < 4; i++)
      clients.push(await connected(connect(broker, "/", { ...transport, ...options })));
  }

  it("spreads client sessions over the app servers", async () => {
    await start(2);
    const where = await Promise.all(clients.map((c) => c.emitWithAck("where") as Promise<string>));
    expect(where.filter((w) => w === "app0")).toHaveLength(2);
    expect(where.filter((w) => w === "app1")).toHaveLength(2);
    expect(apps.map((a) => a.io.of("/").sockets.size)).toEqual([2, 2]);
  });

  it("delivers a broadcast from any app server to every client exactly once, in order", async () => {
    await start(2);
    const received = clients.map((c) => collect<number>(c, "n", 50));
    for (let i = 0; i < 50; i++) apps[i % 2]!.io.emit("n", i);
    const lists = await Promise.all(received);
    // One more round trip per client: a duplicate would have arrived before the ack.
    await Promise.all(clients.map((c) => c.emitWithAck("where")));
    // Each app server's own stream is in order; the two streams interleave (no total order across app servers).
    for (const list of lists) {
      expect([...list].sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
      expect(list.filter((n) => n % 2 === 0)).toEqual([...Array(25).keys()].map((i) => 2 * i));
      expect(list.filter((n) => n % 2 === 1)).toEqual([...Array(25).keys()].map((i) => 2 * i + 1));
    }
  });

  it("answers fetchSockets, socketsJoin and remote emits across app servers", async () => {
    await start(2);
    const [first, second] = apps as [AppServer, AppServer];
    const sockets = await first.io.fetchSockets();
    expect(sockets).toHaveLength(4);
    expect(sockets.map((s) => s.data.server).sort()).toEqual(["app0", "app0", "app1", "app1"]);
    const remote = sockets.find((s) => s.data.server === "app1")!;
    expect(remote.handshake.query.EIO).toBe("4");

    first.io.in(remote.id).socketsJoin("vip");
    await until(
      () => second.io.of("/").sockets.get(remote.id)?.rooms.has("vip") === true,
      "app1 applied the join",
    );
    const vips = await first.io.in("vip").fetchSockets();
    expect(vips.map((s) => s.id)).toEqual([remote.id]);

    const target = clients[(await Promise.all(clients.map((c) => c.id))).indexOf(remote.id)]!;
    const got = once<[string]>(target, "direct");
    remote.emit("direct", "via app0");
    expect((await got)[0]).toBe("via app0");
  });

  it("serverSideEmit reaches the other app servers, with and without acknowledgement", async () => {
    await start(2);
    const [first, second] = apps as [AppServer, AppServer];
    second.io.on("ping-servers", (payload: string, ack?: (r: string) => void) => ack?.(`pong ${payload}`));
    const heard = once<[string]>(second.io as never, "hello-servers");
    first.io.serverSideEmit("hello-servers", "hi");
    expect((await heard)[0]).toBe("hi");
    expect(await first.io.serverSideEmitWithAck("ping-servers", "x")).toEqual(["pong x"]);
    expect(await first.io.of("/").adapter.serverCount()).toBe(2);
  });

  it("moves the clients of an app server that goes away to a remaining one", async () => {
    await start(2, { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 200 });
    const [first, second] = apps as [AppServer, AppServer];
    const onSecond = await Promise.all(clients.map((c) => c.emitWithAck("where")));
    const moved = clients.filter((_, i) => onSecond[i] === "app1");
    const reconnected = Promise.all(moved.map((c) => once(c, "connect")));
    await second.regio.close();
    await reconnected;
    expect(await Promise.all(moved.map((c) => c.emitWithAck("where")))).toEqual(moved.map(() => "app0"));
    await until(() => first.io.of("/").sockets.size === 4, "all four clients are on app0");
  });
});
