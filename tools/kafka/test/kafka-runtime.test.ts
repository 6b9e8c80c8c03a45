import { Kafka, Partitioners, logLevel } from "kafkajs";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startKafka, type KafkaHandle } from "../src/index.ts";
import { requestMetadata } from "../src/metadata-request.ts";
import { stopIdleRequestChecks } from "../../../broker/src/internals/kafkajs.ts";
import { until } from "../../../test/support/events.ts";

// Real JVMs on a small shared machine: allow for slow starts, far above the usual 2-5 s.
const TIMEOUT_MS = 180_000;
const TOPIC = "runtime-check";

// As a node does (ADR 0018): without it each kafkajs connection of this test re-arms a timer with a
// negative delay after every response (a TimeoutNegativeWarning on Node 24).
stopIdleRequestChecks();

const handles: KafkaHandle[] = [];
const dirs: string[] = [];

afterAll(async () => {
  // Runs even when a test failed halfway, so no JVM or temp dir outlives the suite.
  await Promise.allSettled(handles.map((h) => h.stop()));
  await Promise.allSettled(dirs.map((d) => rm(d, { recursive: true, force: true })));
}, TIMEOUT_MS);

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "regio-kafka-test-"));
  dirs.push(dir);
  return dir;
}

function client(brokers: string): Kafka {
  // Quiet: kafkajs logs retriable errors (e.g. coordinator not ready yet) that the assertions already cover.
  return new Kafka({ clientId: "kafka-runtime-test", brokers: [brokers], logLevel: logLevel.NOTHING });
}

async function createTopicAndProduce(brokers: string, value: string): Promise<void> {
  const kafka = client(brokers);
  const admin = kafka.admin();
  await admin.connect();
  try {
    expect(await admin.createTopics({ topics: [{ topic: TOPIC }], waitForLeaders: true })).toBe(true);
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: "k", value }] });
  } finally {
    await producer.disconnect();
  }
}

/** Reads the topic from the beginning with a brand-new group, so only what is on disk can be seen. */
async function readAll(brokers: string, expectedCount: number): Promise<string[]> {
  // A short fetch wait keeps disconnect() from waiting out a 5 s long poll.
  const consumer = client(brokers).consumer({
    groupId: `check-${Date.now()}-${Math.random()}`,
    maxWaitTimeInMs: 100,
  });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only got ${JSON.stringify(values)}`)), 60_000);
      void consumer
        .run({
          eachMessage: async ({ message }) => {
            values.push(message.value?.toString() ?? "");
            if (values.length >= expectedCount) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

/** One metadata round trip with no retries: does Kafka answer right now? */
async function answers(port: number): Promise<boolean> {
  return requestMetadata("127.0.0.1", port, 2_000).then(
    () => true,
    () => false,
  );
}

/** Which process state `pid` is in and who listens on `port`: for a failed assertion's message. */
function whoServes(port: number, pid: number): string {
  let state = "gone";
  try {
    state = /^State:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "unknown";
  } catch {
    // No such process.
  }
  let listeners: string;
  try {
    listeners = execFileSync("ss", ["-Htlnp", `sport = :${port}`], { encoding: "utf8" }).trim() || "nobody";
  } catch (error) {
    listeners = `(ss failed: ${(error as Error).message})`;
  }
  return `Kafka pid ${pid} is ${state}; listening on ${port}: ${listeners}`;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("startKafka", () => {
  it(
    "serves produce/consume and keeps records when restarted on the same dataDir",
    async () => {
      const dataDir = await tempDir();
      const first = await startKafka({ port: 0, dataDir });
      handles.push(first);
      expect(first.brokers).toBe(`127.0.0.1:${first.port}`);
      expect(isRunning(first.pid)).toBe(true);

      await createTopicAndProduce(first.brokers, "survives-restart");
      expect(await readAll(first.brokers, 1)).toEqual(["survives-restart"]);

      await first.stop();
      expect(isRunning(first.pid)).toBe(false);
      expect(() => process.kill(first.pid, 0)).toThrow();
      await first.stop(); // idempotent

      // A new start on the same port and dataDir must reuse the formatted log, not reformat it.
      const second = await startKafka({ port: first.port, dataDir });
      handles.push(second);
      expect(second.pid).not.toBe(first.pid);
      expect(await readAll(second.brokers, 1)).toEqual(["survives-restart"]);

      // A crash (SIGKILL) followed by restart() recovers the log too.
      const crashedPid = second.pid;
      await second.kill();
      expect(isRunning(crashedPid)).toBe(false);
      await second.restart();
      expect(second.pid).not.toBe(crashedPid);
      expect(await readAll(second.brokers, 1)).toEqual(["survives-restart"]);

      const lastPid = second.pid;
      await second.stop();
      expect(() => process.kill(lastPid, 0)).toThrow();
    },
    TIMEOUT_MS,
  );

  it(
    "runs the collector asked for: serial by default, ZGC for low-pause, and serves with either",
    async () => {
      const collectorOf = (pid: number) =>
        readFileSync(`/proc/${pid}/cmdline`, "utf8")
          .split("\0")
          .filter((arg) => /^-XX:\+Use\w+GC$/.test(arg));
      const [plain, lowPause] = await Promise.all([
        startKafka({ port: 0 }),
        startKafka({ port: 0, collector: "low-pause" }),
      ]);
      handles.push(plain, lowPause);
      expect(collectorOf(plain.pid)).toEqual(["-XX:+UseSerialGC"]);
      expect(collectorOf(lowPause.pid)).toEqual(["-XX:+UseZGC"]);
      await createTopicAndProduce(lowPause.brokers, "low-pause");
      expect(await readAll(lowPause.brokers, 1)).toEqual(["low-pause"]);
      // A collector it does not know (from untyped JavaScript) is refused before anything starts.
      await expect(startKafka({ port: 0, collector: "g1" as "serial" })).rejects.toThrow(
        /unknown collector "g1": use "serial" or "low-pause"/,
      );
    },
    TIMEOUT_MS,
  );

  it(
    "refuses a taken port even when a Kafka answers there; pause()/resume(); stop() while paused",
    async () => {
      // A stop that waits a minute before SIGKILL: stopping within the minute shows SIGTERM was acted on.
      const kafka = await startKafka({ port: 0, stopTimeoutMs: 60_000 });
      handles.push(kafka);
      expect(await answers(kafka.port)).toBe(true);
      // Readiness's own request reads the cluster id this Kafka's storage was formatted with.
      const recorded = /^cluster\.id=(.+)$/m.exec(
        readFileSync(join(kafka.dataDir, "logs", "meta.properties"), "utf8"),
      )?.[1];
      expect(await requestMetadata("127.0.0.1", kafka.port, 3_000)).toEqual({
        clusterId: recorded,
        brokerCount: 1,
        controllerId: 1,
      });

      // A second Kafka on the same port must not mistake the first one's answers for its own.
      await expect(startKafka({ port: kafka.port })).rejects.toThrow(/Address already in use/);

      await kafka.pause();
      const answeredWhilePaused = await answers(kafka.port);
      expect(answeredWhilePaused, answeredWhilePaused ? whoServes(kafka.port, kafka.pid) : "").toBe(false);
      kafka.resume();
      // Answers again: a resumed JVM first runs what fell due while it was stopped, which on a loaded
      // machine can take longer than one request's 2 s.
      await until(() => answers(kafka.port), "the resumed Kafka answers again", 30_000);

      await kafka.pause();
      const pid = kafka.pid;
      const started = Date.now();
      await kafka.stop();
      expect(isRunning(pid)).toBe(false);
      // Well before the SIGKILL a minute after SIGTERM: SIGTERM was acted on, so the process was resumed.
      expect(Date.now() - started).toBeLessThan(45_000);
    },
    TIMEOUT_MS,
  );

  it(
    "rejects with Kafka's own error when the port is already taken, and leaves no JVM behind",
    async () => {
      // Squats on the port; drops connections so the readiness probe's socket can't keep close() waiting.
      const blocker: Server = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
      const address = blocker.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      try {
        const attempt = startKafka({ port, dataDir: await tempDir(), readyTimeoutMs: 90_000 });
        await expect(attempt).rejects.toThrow(/exited with code 1 before it was ready/);
        await expect(attempt).rejects.toThrow(/Address already in use/);
        const pid = Number(/pid (\d+)/.exec(String(await attempt.catch((e: unknown) => e)))?.[1]);
        expect(pid).toBeGreaterThan(0);
        expect(isRunning(pid)).toBe(false);
      } finally {
        await new Promise<void>((resolve) => blocker.close(() => resolve()));
      }
    },
    TIMEOUT_MS,
  );
});

describe("readiness's Metadata request, to a peer that is not a ready Kafka", () => {
  const servers: Server[] = [];
  afterAll(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));

  /** A TCP server on 127.0.0.1 that does `answer` with each connection's first bytes. */
  async function peer(answer: (socket: import("node:net").Socket) => void): Promise<number> {
    const server = createServer((socket) => socket.once("data", () => answer(socket)));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as { port: number }).port;
  }
  /** A Metadata answer's frame: size, correlation id, throttle, no broker, then `rest`. */
  const frame = (rest: Buffer, correlationId = 1) => {
    const body = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), rest]);
    body.writeInt32BE(correlationId, 0);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length, 0);
    return Buffer.concat([size, body]);
  };

  it("rejects, naming why: closed, silent, not Kafka, cut short, another request's answer", async () => {
    const [closes, silent, http, cutShort, otherId] = await Promise.all([
      peer((socket) => socket.destroy()),
      peer(() => undefined),
      peer((socket) => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n")),
      // No broker, then a cluster id whose length says 9 bytes but only 2 follow.
      peer((socket) => socket.end(frame(Buffer.from([0, 9, 0x61, 0x62])))),
      peer((socket) => socket.end(frame(Buffer.from([0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 0]), 7))),
    ]);
    await expect(requestMetadata("127.0.0.1", closes, 2_000)).rejects.toThrow(
      /closed the connection before answering/,
    );
    await expect(requestMetadata("127.0.0.1", silent, 200)).rejects.toThrow(
      /no Metadata answer .* in 200 ms/,
    );
    await expect(requestMetadata("127.0.0.1", http, 2_000)).rejects.toThrow(
      /-byte frame: not a Kafka broker/,
    );
    await expect(requestMetadata("127.0.0.1", cutShort, 2_000)).rejects.toThrow(
      /Metadata answer cut short in cluster_id/,
    );
    await expect(requestMetadata("127.0.0.1", otherId, 2_000)).rejects.toThrow(/for correlation id 7, not 1/);
  });

  it("reads a well-formed answer with no cluster id and no controller yet", async () => {
    const port = await peer((socket) =>
      socket.end(frame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]))),
    );
    expect(await requestMetadata("127.0.0.1", port, 2_000)).toEqual({
      clusterId: null,
      brokerCount: 0,
      controllerId: -1,
    });
  });
});
