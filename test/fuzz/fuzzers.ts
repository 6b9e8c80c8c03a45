import { Worker } from "node:worker_threads";
import type { ClientFuzzCounts } from "./client-fuzzer.ts";
import type { LinkFuzzCounts } from "./link-fuzzer.ts";
import type { FrameCounts } from "./frame-counts.ts";

/** What the test asks the fuzzers to do. */
export interface FuzzPlan {
  seed: number;
  /** Frames of each kind: client frames at the node, app-link frames at the node and at the app server. */
  frames: number;
  nodeUrl: string;
  /** The hub's Engine.IO endpoint at the node. */
  clientEndpoint: string;
  hub: string;
  accessKey: string;
  websocketSessions: number;
  pollingSessions: number;
  links: number;
  framesPerLink: number;
}

export interface FuzzResults {
  clients: ClientFuzzCounts;
  links: LinkFuzzCounts;
  atAppServer: FrameCounts;
  seconds: number;
}

export type ToFuzzers =
  | { kind: "fuzz"; plan: FuzzPlan }
  | { kind: "stop" }
  | { kind: "check fake node"; timeoutMs: number }
  | { kind: "close" };

export type FromFuzzers =
  | { kind: "fake node"; url: string }
  | { kind: "fuzzed"; results: FuzzResults }
  | { kind: "fake node serves" }
  | { kind: "failed"; message: string };

/** The fuzzers, in a thread of their own (fuzzer-worker.ts). */
export interface Fuzzers {
  /** The fake node the app server under test must also link to. */
  readonly fakeNodeUrl: string;
  fuzz(plan: FuzzPlan): Promise<FuzzResults>;
  /** Ends the fuzzing early (a process died): fuzz() resolves with what was sent. */
  stop(): void;
  /** The fake node's check that the app server's fuzzed hub still serves a new session. */
  checkFakeNode(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFuzzers(): Promise<Fuzzers> {
  const worker = new Worker(new URL("./fuzzer-worker.mjs", import.meta.url));
  const replies: Array<{ resolve: (message: FromFuzzers) => void; reject: (error: Error) => void }> = [];
  let crashed: Error | undefined;
  const fail = (error: Error) => {
    crashed = error;
    for (const reply of replies.splice(0)) reply.reject(error);
  };
  worker.on("error", fail);
  worker.on("exit", (code) => fail(new Error(`the fuzzers' thread exited (${code})`)));
  worker.on("message", (message: FromFuzzers) => replies.shift()?.resolve(message));
  /** Posts `request` (if any) and resolves with the next message, which must be of `kind`. */
  const next = <K extends FromFuzzers["kind"]>(kind: K, request?: ToFuzzers) =>
    new Promise<Extract<FromFuzzers, { kind: K }>>((resolve, reject) => {
      if (crashed) return reject(crashed);
      replies.push({
        resolve: (message) => {
          if (message.kind === kind) resolve(message as Extract<FromFuzzers, { kind: K }>);
          else reject(new Error(message.kind === "failed" ? message.message : `unexpected ${message.kind}`));
        },
        reject,
      });
      if (request) worker.postMessage(request);
    });
  const { url } = await next("fake node");
  return {
    fakeNodeUrl: url,
    fuzz: async (plan) => (await next("fuzzed", { kind: "fuzz", plan })).results,
    stop: () => worker.postMessage({ kind: "stop" } satisfies ToFuzzers),
    checkFakeNode: async (timeoutMs) =>
      void (await next("fake node serves", { kind: "check fake node", timeoutMs })),
    async close() {
      if (crashed) return;
      const exited = new Promise((resolve) => worker.once("exit", resolve));
      worker.postMessage({ kind: "close" } satisfies ToFuzzers);
      const timer = setTimeout(() => void worker.terminate(), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
