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
}

/** The requests the fuzzers' thread answers, each once ("start": it answers when it is up). */
type Request = "start" | "fuzz" | "check fake node" | "progress";

export type ToFuzzers =
  | { kind: "fuzz"; plan: FuzzPlan }
  | { kind: "check fake node"; timeoutMs: number }
  | { kind: "progress" }
  | { kind: "stop" }
  | { kind: "close" };

/** Every answer names the request it answers. */
export type FromFuzzers =
  | { answers: "start"; fakeNodeUrl: string }
  | { answers: "fuzz"; results: FuzzResults }
  | { answers: "check fake node" }
  | { answers: "progress"; frames: Record<string, number>; clientsWaiting: Record<string, number> }
  | { answers: Request; failed: string };

type Answer<R extends Request> = Exclude<Extract<FromFuzzers, { answers: R }>, { failed: string }>;

/** The fuzzers, in a thread of their own (fuzzer-worker.ts). */
export interface Fuzzers {
  /** The fake node the app server under test must also link to. */
  readonly fakeNodeUrl: string;
  fuzz(plan: FuzzPlan): Promise<FuzzResults>;
  /** Each fuzzer's frames so far, and where the client sessions wait. */
  progress(): Promise<{ frames: Record<string, number>; clientsWaiting: Record<string, number> }>;
  /** Ends the fuzzing early (a process died, or it hangs): fuzz() resolves with what was sent. */
  stop(): void;
  /** The fake node's check that the app server's fuzzed hub still serves a new session. */
  checkFakeNode(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFuzzers(): Promise<Fuzzers> {
  const worker = new Worker(new URL("./fuzzer-worker.mjs", import.meta.url));
  const waiting = new Map<
    Request,
    { resolve: (message: FromFuzzers) => void; reject: (error: Error) => void }
  >();
  let gone: Error | undefined;
  const fail = (error: Error) => {
    gone = error;
    for (const waiter of waiting.values()) waiter.reject(error);
    waiting.clear();
  };
  worker.on("error", fail);
  worker.on("exit", (code) => fail(new Error(`the fuzzers' thread exited (${code})`)));
  worker.on("message", (message: FromFuzzers) => {
    const waiter = waiting.get(message.answers);
    waiting.delete(message.answers);
    if ("failed" in message) waiter?.reject(new Error(message.failed));
    else waiter?.resolve(message);
  });
  /** Posts `request` (if any) and resolves with its answer. */
  const ask = <R extends Request>(request: R, message?: ToFuzzers) =>
    new Promise<Answer<R>>((resolve, reject) => {
      if (gone) return reject(gone);
      waiting.set(request, { resolve: (answer) => resolve(answer as Answer<R>), reject });
      if (message) worker.postMessage(message);
    });
  const { fakeNodeUrl } = await ask("start");
  return {
    fakeNodeUrl,
    fuzz: async (plan) => (await ask("fuzz", { kind: "fuzz", plan })).results,
    progress: async () => {
      const { frames, clientsWaiting } = await ask("progress", { kind: "progress" });
      return { frames, clientsWaiting };
    },
    stop: () => worker.postMessage({ kind: "stop" } satisfies ToFuzzers),
    checkFakeNode: async (timeoutMs) => {
      await ask("check fake node", { kind: "check fake node", timeoutMs });
    },
    async close() {
      if (gone) return;
      const exited = new Promise((resolve) => worker.once("exit", resolve));
      worker.postMessage({ kind: "close" } satisfies ToFuzzers);
      const timer = setTimeout(() => void worker.terminate(), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
