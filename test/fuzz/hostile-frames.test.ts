import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientPath, MessageType } from "@regio/protocol";
import { ACCESS_KEY, HUB } from "../support/regio-harness.ts";
import { killNode, startCliNode, type CliNode } from "../support/cli-node.ts";
import { fuzzSeed } from "./prng.ts";
import { startFuzzers, type FuzzResults, type Fuzzers } from "./fuzzers.ts";
import { startAppServerProcess, type AppServerProcess } from "./app-server-process.ts";
import { connectBystanders, type Bystanders } from "./bystanders.ts";
import type { FrameCounts } from "./frame-counts.ts";

/**
 * The "Done when": generated hostile frames by the hundred thousand, at a node (client
 * frames, app-link frames) and at an app server (app-link frames from a fake node), and nothing
 * costs uptime: no process exits, every bystander is served throughout and at the end.
 *
 * The seed is printed first and named in every failure: `REGIO_FUZZ_SEED=<seed> npx vitest run
 * test/fuzz` replays a run's random draws. What the generators learn from the other side (sessions,
 * socket and request ids) and how the three streams interleave depend on timing, so a replay finds
 * the same failure often rather than always. REGIO_FUZZ_FRAMES sets the frames of each kind
 * (default 100,000), for longer runs.
 */
const seed = fuzzSeed();
const REPLAY = `REGIO_FUZZ_SEED=${seed} npx vitest run test/fuzz`;
const FRAMES = Number(process.env.REGIO_FUZZ_FRAMES ?? 100_000);
/** How long a bystander's echo may take while the node and the app server are under fire. */
const ECHO_BOUND_MS = 5000;
/** ... and once the fuzzing is over. */
const FINAL_BOUND_MS = 2000;
/**
 * 100,000 frames of each kind take 15 to 40 s on two busy cores; far longer means something hangs
 * (a process that stopped reading).
 */
const FUZZ_DEADLINE_MS = (120_000 * FRAMES) / 100_000;

describe(`hostile frames at a node and an app server (seed ${seed})`, () => {
  let node: CliNode | undefined;
  let fuzzers: Fuzzers | undefined;
  let app: AppServerProcess | undefined;
  let bystanders: Bystanders | undefined;

  beforeAll(async () => {
    console.log(`fuzz seed ${seed} (replay: ${REPLAY})`);
    node = await startCliNode("fuzz-node", ["--port=0"]);
    fuzzers = await startFuzzers();
    app = await startAppServerProcess({
      nodeUrl: node.url,
      fakeNodeUrl: fuzzers.fakeNodeUrl,
      accessKey: ACCESS_KEY,
    });
    bystanders = await connectBystanders(node.url, HUB, [
      "websocket",
      "websocket",
      "websocket",
      "polling",
      "polling",
    ]);
    // Their joins are in place before anything else: each echo is answered after its join.
    await bystanders.echoRound(FINAL_BOUND_MS);
  });

  afterAll(async () => {
    bystanders?.close();
    await fuzzers?.close();
    await app?.stop();
    if (node) await killNode(node);
  });

  it(
    `sends ${FRAMES} client frames and ${FRAMES} app-link frames at each, and every process and bystander stays served`,
    async () => {
      const exits = [
        watchExit("node", node!.child, () => ""),
        watchExit("app server", app!.child, () => app!.stderr()),
      ];
      const probe = bystanders!.probe(250, ECHO_BOUND_MS);
      const fuzzing = fuzzers!.fuzz({
        seed,
        frames: FRAMES,
        nodeUrl: node!.url,
        clientEndpoint: `${node!.url}${clientPath(HUB)}/`,
        hub: HUB,
        accessKey: ACCESS_KEY,
        websocketSessions: 12,
        pollingSessions: 3,
        links: 4,
        framesPerLink: 5000,
      });
      let results: FuzzResults;
      try {
        results = await Promise.race([
          fuzzing,
          ...exits.map((exit) => exit.exited),
          deadline(FUZZ_DEADLINE_MS),
        ]);
      } catch (error) {
        // Where it stopped, and what was seen meanwhile.
        const progress = await fuzzers!.progress().catch((reason: Error) => reason.message);
        fuzzers!.stop();
        fuzzing.catch(() => {}); // it ends with the fuzzers' thread, which afterAll closes
        throw new Error(
          [
            (error as Error).message,
            `frames sent, and where client sessions wait: ${JSON.stringify(progress)}`,
            `bystanders: ${JSON.stringify(bystanders!.failures.slice(0, 20))}`,
            `node log:\n${notableLines(node!.output())}`,
          ].join("\n"),
          { cause: error },
        );
      } finally {
        await probe.stop();
      }
      const { clients, links, atAppServer } = results;
      const rate = (counts: { frames: number; seconds: number }) =>
        `${Math.round(counts.frames / counts.seconds)}/s over ${counts.seconds.toFixed(1)} s`;
      const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
      const types = (counts: FrameCounts) =>
        Object.keys(counts.byType).filter((type) => type !== "garbage").length;
      console.log(
        [
          `fuzz seed ${seed}:`,
          `  client frames at the node: ${clients.frames} (${rate(clients)}; ${clients.websocketFrames} WebSocket, ${clients.pollingFrames} polling; ${mb(clients.bytes)}; ${clients.sessions} sessions, ${clients.stalled} given up stalled)`,
          `  app-link frames at the node: ${links.frames} (${rate(links)}; ${links.wellFormed} well-formed; ${types(links)} types; ${mb(links.bytes)}; ${links.links} links; ${links.received[MessageType.Error] ?? 0} Errors back)`,
          `  app-link frames at the app server: ${atAppServer.frames} (${rate(atAppServer)}; ${atAppServer.wellFormed} well-formed; ${types(atAppServer)} types; ${mb(atAppServer.bytes)})`,
          `  slowest bystander echo: ${Math.round(bystanders!.slowestEchoMs)} ms`,
          `  resident memory: node ${residentMb(node!.child)}, app server ${residentMb(app!.child)}`,
        ].join("\n"),
      );

      // Still served, after the fuzzing: echoes, a broadcast, a fresh session at the fuzzed hub.
      await bystanders!.echoRound(FINAL_BOUND_MS);
      await bystanders!.broadcastRound(FINAL_BOUND_MS);
      const fuzzedHub = await fuzzers!.checkFakeNode(FINAL_BOUND_MS).then(
        () => "serves",
        (error: Error) => error.message,
      );
      const health = await fetch(`${node!.url}/healthz`);
      const stats = await app!.stats();
      console.log(`  app server: ${JSON.stringify(stats)}`);

      // Every failure names the seed, and what the node logged that is not one more refused frame.
      const why = `${REPLAY}\nnode log:\n${notableLines(node!.output())}`;
      for (const exit of exits) expect(exit.describe(), why).toBe("running");
      expect(health.status, why).toBe(200);
      expect(bystanders!.failures, why).toEqual([]);
      expect(fuzzedHub, why).toBe("serves");
      expect(clients.frames, why).toBeGreaterThanOrEqual(FRAMES);
      expect(links.frames, why).toBeGreaterThanOrEqual(FRAMES);
      expect(atAppServer.frames, why).toBeGreaterThanOrEqual(FRAMES);
      expect(clients.refusedHandshakes, why).toBe(0);
      expect(links.closedByNode, why).toBe(0);
      // A message the node's own code failed on is a bug its safety net hid (it logs it and goes on).
      expect(
        node!
          .output()
          .split("\n")
          .filter((line) => line.includes('"msg":"failed to handle app-link message"')),
        why,
      ).toEqual([]);
      // The real node sends the app server only frames it can read, whatever the clients sent.
      expect(
        Object.keys(stats.linkErrors).filter((key) => key.startsWith("chat ")),
        why,
      ).toEqual([]);
    },
    FUZZ_DEADLINE_MS + 60_000,
  );
});

/** A process's resident memory, from /proc (Linux); "?" elsewhere. */
function residentMb(child: ChildProcess): string {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1];
    return kb ? `${Math.round(Number(kb) / 1024)} MB` : "?";
  } catch {
    return "?";
  }
}

/** The node's warnings and errors, but for the refused frames (tens of thousands of them). */
function notableLines(log: string): string {
  const lines = log.split("\n").filter((line) => {
    if (!line.startsWith("{")) return false;
    const entry = JSON.parse(line) as { level?: number; msg?: string };
    return (entry.level ?? 0) >= 40 && entry.msg !== "bad app-link frame";
  });
  return lines.slice(-40).join("\n");
}

/** Rejects after `ms` (the timer does not keep the run alive). */
function deadline(ms: number): Promise<never> {
  return new Promise<never>((_, reject) => {
    setTimeout(
      () => reject(new Error(`the fuzzing did not end within ${ms / 1000} s (something hangs): ${REPLAY}`)),
      ms,
    ).unref();
  });
}

/** A process that must not exit: `exited` rejects (with the seed and its last words) if it does. */
function watchExit(
  name: string,
  child: ChildProcess,
  lastWords: () => string,
): { exited: Promise<never>; describe(): string } {
  const describe = () =>
    child.exitCode !== null || child.signalCode !== null
      ? `exited (${child.exitCode ?? child.signalCode})`
      : "running";
  const exited = new Promise<never>((_, reject) => {
    child.once("exit", () =>
      reject(new Error(`the ${name} ${describe()} during the fuzzing: ${REPLAY}\n${lastWords()}`)),
    );
  });
  exited.catch(() => {}); // observed through the race; a later exit is seen by describe()
  return { exited, describe };
}
