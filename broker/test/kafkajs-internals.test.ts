import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import {
  kafkajsRequestQueue,
  stopIdleRequestChecks,
  type RequestQueueInternals,
} from "../src/internals/kafkajs.ts";

const require = createRequire(import.meta.url);
const quiet = { debug: () => {}, warn: () => {} };

interface PushedRequest {
  entry: {
    correlationId: number;
    apiName: string;
    apiKey: number;
    apiVersion: number;
    resolve: () => void;
    reject: () => void;
  };
  expectResponse: boolean;
  sendRequest: () => void;
}

/** A request as kafkajs's Connection pushes it; resolves `sent` when the queue sends it. */
function request(
  correlationId: number,
  expectResponse: boolean,
): { pushed: PushedRequest; sent: Promise<void>; done: Promise<void> } {
  let markSent!: () => void;
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  let markDone!: () => void;
  const done = new Promise<void>((resolve) => (markDone = resolve));
  return {
    pushed: {
      entry: {
        correlationId,
        apiName: "Test",
        apiKey: 0,
        apiVersion: 0,
        resolve: () => markDone(),
        reject: () => {},
      },
      expectResponse,
      sendRequest: markSent,
    },
    sent,
    done,
  };
}

type Queue = RequestQueueInternals & {
  push(request: PushedRequest): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
};

function newQueue(): Queue {
  const RequestQueue = kafkajsRequestQueue()!;
  return new RequestQueue({
    maxInFlightRequests: null,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: "test",
    broker: "127.0.0.1:9092",
    logger: quiet,
  }) as Queue;
}

/**
 * stopIdleRequestChecks replaces one method of kafkajs's RequestQueue: this notices when a kafkajs
 * upgrade moves what it relies on, and checks that requests still go out, throttled or not.
 */
describe("kafkajs's request queue, with idle checks stopped", () => {
  it("is the class kafkajs's connections use", () => {
    const RequestQueue = kafkajsRequestQueue();
    expect(RequestQueue).toBeDefined();
    require("kafkajs");
    const connection = require.cache[require.resolve("kafkajs/src/network/connection.js")];
    expect(connection?.children.some((child) => child.exports === RequestQueue)).toBe(true);
    expect(stopIdleRequestChecks()).toBe(true);
  });

  it("arms no timer once a response leaves nothing pending (kafkajs 2.2.4 re-armed one every ms)", async () => {
    stopIdleRequestChecks();
    const queue = newQueue();
    const r = request(1, true);
    queue.push(r.pushed);
    await r.sent;
    queue.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    await r.done;
    expect(queue.pending).toHaveLength(0);
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it("still sends a request held by a throttle once the throttle is over, then goes quiet", async () => {
    stopIdleRequestChecks();
    const queue = newQueue();
    queue.throttledUntil = Date.now() + 50;
    const r = request(2, false);
    queue.push(r.pushed);
    expect(queue.pending).toHaveLength(1);
    expect(queue.throttleCheckTimeoutId).not.toBeNull();
    await r.sent;
    expect(Date.now()).toBeGreaterThanOrEqual(queue.throttledUntil);
    await r.done;
    expect(queue.pending).toHaveLength(0);
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it("checks again at the throttle's end when a response brings a throttle and nothing is pending", () => {
    stopIdleRequestChecks();
    const queue = newQueue();
    queue.throttledUntil = Date.now() + 60_000;
    queue.checkPendingRequests();
    expect(queue.throttleCheckTimeoutId).not.toBeNull();
    clearTimeout(queue.throttleCheckTimeoutId!);
  });
});
