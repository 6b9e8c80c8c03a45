import { afterEach, describe, expect, it } from "vitest";
import { Server } from "socket.io";
import type { Socket as ClientSocket } from "socket.io-client";
import { InProcessBus, type BrokerHandle } from "@regio/broker";
import { useRegio, type RegioHandle } from "@regio/sdk";
import { formatConnectionString } from "@regio/protocol";
import { ACCESS_KEY, connect, HUB, startTestBroker } from "../support/regio-harness.ts";
import { collect, connected, until } from "../support/events.ts";
import { startDelayProxy } from "../support/delay-proxy.ts";

/** Two one-node regions; the SDK is given both and must pick, leave and come back by itself. */
describe("SDK regions option", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  const clients: ClientSocket[] = [];
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.disconnect());
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const node = async (region: string, port = 0): Promise<BrokerHandle> => {
    const broker = await startTestBroker({
      region,
      nodeId: region,
      port,
      replicator: new InProcessBus().connect(region),
    });
    return broker;
  };

  it("links to the region with the lowest round-trip time, fails over, and moves back", async () => {
    const far = await node("far");
    cleanups.push(() => far.close());
    let near = await node("near");
    const nearPort = near.port;
    // "far" is listed first but sits behind 60 ms of added latency each way.
    const proxy = await startDelayProxy(far.url, 60);
    cleanups.push(() => proxy.close());

    const io = new Server();
    io.on("connection", (socket) => socket.on("where", (ack: (r: string) => void) => ack("app")));
    const regio: RegioHandle = useRegio(io, {
      hub: HUB,
      regions: [
        { name: "far", connectionString: formatConnectionString(proxy.url, ACCESS_KEY) },
        { name: "near", connectionString: formatConnectionString(near.url, ACCESS_KEY) },
      ],
      regionProbeIntervalMs: 200,
    });
    cleanups.push(async () => {
      await io.close();
      await regio.close();
    });
    await regio.ready;
    await until(() => near.hub(HUB)?.hasAppServers === true, "the app server links to the near region");
    expect(far.hub(HUB)?.hasAppServers ?? false).toBe(false);

    // The near region goes away: the app server moves to the far one.
    await near.close();
    await until(
      () => far.hub(HUB)?.hasAppServers === true,
      "the app server failed over to the far region",
      15_000,
    );
    const client = await connected(connect(far));
    clients.push(client);
    const got = collect<number>(client, "n", 3);
    for (let i = 0; i < 3; i++) io.emit("n", i);
    expect(await got).toEqual([0, 1, 2]);

    // The near region is back: the app server returns to it.
    near = await node("near", nearPort);
    cleanups.push(() => near.close());
    await until(
      () => near.hub(HUB)?.hasAppServers === true,
      "the app server moved back to the near region",
      15_000,
    );
    await until(() => far.hub(HUB)?.hasAppServers !== true, "and left the far one");
  }, 60_000);
});
