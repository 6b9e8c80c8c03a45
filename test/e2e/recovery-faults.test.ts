import { afterEach, describe, expect, inject, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { connect, startAppServer, stopAppServer, type AppServer } from "../support/regio-harness.ts";
import { killNode, startCliNode, type CliNode } from "../support/cli-node.ts";
import { startCliGlobal, stopProcess, type CliGlobal } from "../support/cli-global.ts";
import { connected, until } from "../support/events.ts";
import { uniqueTopics } from "../support/topics.ts";

const RECOVERY = { connectionStateRecovery: { maxDisconnectionDuration: 60_000 } };
const LEASE_MS = 2000;

/** The node that serves a client: broker session ids end with `.<nodeId>`. */
const nodeOf = (client: ClientSocket) => client.io.engine.id.split(".").pop()!;

interface Watched {
  client: ClientSocket;
  received: number[];
  firstId: string;
}

/**
 * Connection state recovery when a node goes away, with real processes: clients come back through
 * the global endpoint to another node and get their socket back with every event they missed, once
 * and in order, while a numbered stream goes on.
 */
describe("recovery when a node goes away", () => {
  const nodes: CliNode[] = [];
  const clients: ClientSocket[] = [];
  let global: CliGlobal | undefined;
  let app: AppServer | undefined;
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.disconnect());
    if (app) await stopAppServer(app);
    app = undefined;
    if (global) await stopProcess(global.child);
    global = undefined;
    await Promise.all(nodes.splice(0).map(killNode));
  });

  /** Two nodes of one region behind `regio global`, an app server with recovery on, and clients. */
  async function setUp(
    clientCount: number,
  ): Promise<{ first: CliNode; second: CliNode; watched: Watched[] }> {
    const topics = uniqueTopics("rec");
    const flags = [
      "--port=0",
      "--region=eastus",
      `--kafka=${inject("kafka").eastus!}`,
      `--lease-ms=${LEASE_MS}`,
      `--topic-events=${topics.events}`,
      `--topic-membership=${topics.membership}`,
      `--topic-nodes=${topics.nodes}`,
    ];
    const first = await startCliNode("n1", flags);
    nodes.push(first);
    const second = await startCliNode("n2", flags);
    nodes.push(second);
    global = await startCliGlobal([
      "--port=0",
      `--region=eastus=${first.url},${second.url}`,
      "--probe-interval=200",
    ]);
    app = await startAppServer(first, (io) => io.on("connection", (socket) => socket.join("all")), RECOVERY);
    await until(async () => (await fetch(`${second.url}/readyz`)).ok, "the second node is ready");
    await until(() => app!.regio !== undefined, "linked");
    const watched: Watched[] = [];
    for (let i = 0; i < clientCount; i++) {
      const transports = i % 2 === 0 ? ["websocket"] : ["polling"];
      const client = await connected(
        connect({ url: global.url }, "/", {
          transports,
          reconnection: true,
          reconnectionDelay: 100,
          reconnectionDelayMax: 500,
        }),
      );
      clients.push(client);
      const received: number[] = [];
      client.on("n", (n: number) => received.push(n));
      watched.push({ client, received, firstId: client.id! });
    }
    return { first, second, watched };
  }

  /** Emits 0, 1, 2, ... to the room every 5 ms until stopped; returns how many were emitted. */
  function stream(): { stop(): number } {
    let next = 0;
    const ticker = setInterval(() => app!.io.to("all").emit("n", next++), 5);
    return {
      stop() {
        clearInterval(ticker);
        return next;
      },
    };
  }

  it("gives the clients of a SIGKILLed node their sockets and every missed event, once and in order", async () => {
    const { second, watched } = await setUp(6);
    const onSecond = watched.filter((w) => nodeOf(w.client) === "n2");
    expect(onSecond.length).toBeGreaterThan(0);
    const running = stream();
    await until(() => watched.every((w) => w.received.length > 50), "the stream reaches everyone");
    await killNode(second);
    await until(
      () => onSecond.every((w) => w.client.connected && nodeOf(w.client) === "n1"),
      "the second node's clients are back, on the first",
      20_000,
    );
    await until(() => watched.every((w) => w.received.length > 400), "the stream goes on", 20_000);
    const total = running.stop();
    for (const w of watched) await until(() => w.received.length >= total, "every event arrived", 20_000);
    for (const w of watched) {
      expect(w.received).toEqual([...Array(total).keys()]);
      expect(w.client.id).toBe(w.firstId);
    }
    for (const w of onSecond) expect(w.client.recovered).toBe(true);
  }, 120_000);
});
