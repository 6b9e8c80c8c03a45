import { afterEach, describe, expect, inject, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import {
  ACCESS_KEY,
  connect,
  HUB,
  startAppServer,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { killNode, startCliNode, type CliNode } from "../support/cli-node.ts";
import { startCliGlobal, stopProcess, type CliGlobal } from "../support/cli-global.ts";
import { servesHub } from "../support/broker-process.ts";
import { connected, until } from "../support/events.ts";
import { runRegio } from "../support/regio-command.ts";
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
 * Connection state recovery when a node goes away (killed, drained, restarted), with real processes:
 * clients come back through the global endpoint to another node and get their socket back with every
 * event they missed, once and in order, while a numbered stream goes on.
 */
describe("recovery when a node goes away", () => {
  const nodes: CliNode[] = [];
  const clients: ClientSocket[] = [];
  let global: CliGlobal | undefined;
  let app: AppServer | undefined;
  let flags: string[] = [];
  let ticker: NodeJS.Timeout | undefined;
  afterEach(async () => {
    clearInterval(ticker);
    clients.splice(0).forEach((c) => c.disconnect());
    if (app) await stopAppServer(app);
    app = undefined;
    if (global) await stopProcess(global.child);
    global = undefined;
    await Promise.all(nodes.splice(0).map(killNode));
  });

  /** A node of the region (again on the port it had, after a restart). */
  async function node(nodeId: string, port = 0): Promise<CliNode> {
    const started = await startCliNode(nodeId, [`--port=${port}`, ...flags]);
    nodes.push(started);
    return started;
  }

  /** Until the node serves the hub through the app server (its readiness counts it). */
  async function served(target: CliNode): Promise<void> {
    await until(() => servesHub(target.url, HUB), `${target.nodeId} serves the hub`, 20_000);
  }

  /** Two nodes of one region behind `regio global`, an app server with recovery on, and clients. */
  async function setUp(
    clientCount: number,
  ): Promise<{ first: CliNode; second: CliNode; watched: Watched[] }> {
    const topics = uniqueTopics("rec");
    flags = [
      "--region=eastus",
      `--kafka=${inject("kafka").eastus!}`,
      `--lease-ms=${LEASE_MS}`,
      `--topic-events=${topics.events}`,
      `--topic-membership=${topics.membership}`,
      `--topic-nodes=${topics.nodes}`,
    ];
    const first = await node("n1");
    const second = await node("n2");
    global = await startCliGlobal([
      "--port=0",
      `--region=eastus=${first.url},${second.url}`,
      "--probe-interval=200",
    ]);
    app = await startAppServer(first, (io) => io.on("connection", (socket) => socket.join("all")), RECOVERY);
    await served(second);
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
    const io = app!.io;
    ticker = setInterval(() => io.to("all").emit("n", next++), 5);
    return {
      stop() {
        clearInterval(ticker);
        return next;
      },
    };
  }

  /** SIGTERM, as a rolling update or `docker stop` sends it; resolves with how long until it exited (0). */
  async function terminate(target: CliNode): Promise<number> {
    const started = Date.now();
    const exited = new Promise<number | null>((resolve) => target.child.once("exit", resolve));
    target.child.kill("SIGTERM");
    expect(await exited, `${target.nodeId} exited after SIGTERM:\n${target.output().slice(-3000)}`).toBe(0);
    return Date.now() - started;
  }

  /** Every client got every event once and in order, kept its socket, and those that moved recovered. */
  async function checkEverything(watched: Watched[], total: number, moved: Watched[]): Promise<void> {
    for (const w of watched) await until(() => w.received.length >= total, "every event arrived", 20_000);
    for (const w of watched) {
      expect(w.received).toEqual([...Array(total).keys()]);
      expect(w.client.id).toBe(w.firstId);
    }
    for (const w of moved) expect(w.client.recovered).toBe(true);
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
      "moved",
      20_000,
    );
    await until(() => watched.every((w) => w.received.length > 400), "the stream goes on", 20_000);
    await checkEverything(watched, running.stop(), onSecond);
  }, 120_000);

  it("drains a node on SIGTERM: its clients recover on the other node, nothing is lost, it exits in time", async () => {
    const { second, watched } = await setUp(6);
    const onSecond = watched.filter((w) => nodeOf(w.client) === "n2");
    const running = stream();
    await until(() => watched.every((w) => w.received.length > 50), "the stream reaches everyone");
    expect(await terminate(second)).toBeLessThan(15_000);
    await until(
      () => onSecond.every((w) => w.client.connected && nodeOf(w.client) === "n1"),
      "moved",
      20_000,
    );
    await until(() => watched.every((w) => w.received.length > 400), "the stream goes on", 20_000);
    await checkEverything(watched, running.stop(), onSecond);
  }, 120_000);

  it("drains a node on `regio drain`, authenticated with the access key", async () => {
    const { second } = await setUp(2);
    const exited = new Promise<number | null>((resolve) => second.child.once("exit", resolve));
    const refused = await runRegio([
      "drain",
      second.url,
      "--access-key",
      "not-the-key-though-of-at-least-32-bytes",
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/HTTP 401/);
    const drained = await runRegio(["drain", second.url, "--access-key", ACCESS_KEY]);
    expect(drained.code).toBe(0);
    expect(await exited).toBe(0);
  }, 120_000);

  it("restarts every node of the region in turn under a stream: nothing lost, every client recovered", async () => {
    const { first, second, watched } = await setUp(6);
    const running = stream();
    await until(() => watched.every((w) => w.received.length > 50), "the stream reaches everyone");
    for (const current of [first, second]) {
      const port = Number(new URL(current.url).port);
      await terminate(current);
      const restarted = await node(current.nodeId, port);
      await served(restarted);
      const mark = Math.max(...watched.map((w) => w.received.length));
      await until(() => watched.every((w) => w.received.length > mark + 100), "the stream goes on", 20_000);
    }
    // Every client's node was restarted: each one moved at least once.
    await checkEverything(watched, running.stop(), watched);
  }, 180_000);
});

/** Runs the `regio` CLI to completion. */
