import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import { clientPath } from "@regio/protocol";
import { connected, once } from "../support/events.ts";

/**
 * Real socket.io-clients of the app server under test, connected through the node before the
 * fuzzing starts and kept for the whole run (no reconnection: a disconnect is a failure, not
 * something to hide). They prove that service goes on: echoes answered in time, broadcasts received.
 */
export interface Bystanders {
  readonly clients: ClientSocket[];
  /** Why a bystander stopped being served (disconnects, slow or missing answers); empty if none was. */
  readonly failures: string[];
  /** The slowest echo so far, ms. */
  readonly slowestEchoMs: number;
  /** Every bystander echoes once; a failure is recorded when one does not answer within `boundMs`. */
  echoRound(boundMs: number): Promise<void>;
  /** Starts an echo round every `everyMs` (when the last one is over) until the returned stop(). */
  probe(everyMs: number, boundMs: number): { stop(): Promise<void> };
  /** One bystander asks the app to tell the bystanders' room something: every bystander gets it. */
  broadcastRound(boundMs: number): Promise<void>;
  close(): void;
}

export const BYSTANDER_ROOM = "bystanders";

export async function connectBystanders(
  nodeUrl: string,
  hub: string,
  transports: ReadonlyArray<"websocket" | "polling">,
): Promise<Bystanders> {
  const clients = await Promise.all(
    transports.map((transport) =>
      connected(
        connectClient(nodeUrl, {
          path: clientPath(hub),
          forceNew: true,
          reconnection: false,
          transports: [transport],
        }),
      ),
    ),
  );
  const failures: string[] = [];
  let slowestEchoMs = 0;
  clients.forEach((client, i) => {
    client.on("disconnect", (reason) =>
      failures.push(`bystander ${i} (${transports[i]}) disconnected: ${reason}`),
    );
    client.emit("join", BYSTANDER_ROOM);
  });
  let round = 0;
  const echoRound = async (boundMs: number) => {
    const value = `echo ${round++}`;
    await Promise.all(
      clients.map(async (client, i) => {
        const started = performance.now();
        try {
          const answer: unknown = await client.timeout(boundMs).emitWithAck("echo", value);
          if (answer !== value) failures.push(`bystander ${i} got ${JSON.stringify(answer)} for ${value}`);
        } catch {
          failures.push(`bystander ${i} (${transports[i]}) got no echo within ${boundMs} ms`);
        }
        slowestEchoMs = Math.max(slowestEchoMs, performance.now() - started);
      }),
    );
  };
  return {
    clients,
    failures,
    get slowestEchoMs() {
      return slowestEchoMs;
    },
    echoRound,
    probe(everyMs, boundMs) {
      let running: Promise<void> = Promise.resolve();
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        running = echoRound(boundMs).finally(() => (busy = false));
      }, everyMs);
      return {
        async stop() {
          clearInterval(timer);
          await running;
        },
      };
    },
    async broadcastRound(boundMs) {
      const message = `to every bystander ${round++}`;
      const received = clients.map((client) => once<[unknown]>(client, "told", boundMs));
      clients[0]!.emit("tell", BYSTANDER_ROOM, message);
      const results = await Promise.allSettled(received);
      results.forEach((result, i) => {
        if (result.status === "rejected")
          failures.push(`bystander ${i} got no broadcast within ${boundMs} ms`);
        else if (result.value[0] !== message)
          failures.push(`bystander ${i} got ${JSON.stringify(result.value[0])}`);
      });
    },
    close() {
      for (const client of clients) {
        client.removeAllListeners("disconnect");
        client.disconnect();
      }
    },
  };
}
