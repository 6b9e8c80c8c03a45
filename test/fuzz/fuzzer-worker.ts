/**
 * The fuzzers' own thread: the fake node, the client fuzzer and the app-link fuzzer, driven by the
 * test through messages (see fuzzers.ts). Generating and sending 300,000 frames keeps a thread
 * busy; here it does not delay the test's own thread, where the bystanders measure how fast the
 * node and the app server answer.
 */
import { parentPort } from "node:worker_threads";
import { Prng } from "./prng.ts";
import { fuzzClients } from "./client-fuzzer.ts";
import { fuzzAppLinks } from "./link-fuzzer.ts";
import { startFakeNode } from "./fake-node.ts";
import type { FromFuzzers, ToFuzzers } from "./fuzzers.ts";

const port = parentPort!;
const post = (message: FromFuzzers) => port.postMessage(message);
const fakeNode = await startFakeNode();
let stopped = false;

async function answer(work: () => Promise<FromFuzzers>): Promise<void> {
  try {
    post(await work());
  } catch (error) {
    post({
      kind: "failed",
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
}

port.on("message", (message: ToFuzzers) => {
  switch (message.kind) {
    case "fuzz":
      return void answer(async () => {
        const { plan } = message;
        const rng = new Prng(plan.seed);
        const started = performance.now();
        const [clients, links, atAppServer] = await Promise.all([
          fuzzClients({
            endpoint: plan.clientEndpoint,
            rng: rng.fork("clients"),
            frames: plan.frames,
            websocketSessions: plan.websocketSessions,
            pollingSessions: plan.pollingSessions,
            stopped: () => stopped,
          }),
          fuzzAppLinks({
            nodeUrl: plan.nodeUrl,
            hub: plan.hub,
            accessKey: plan.accessKey,
            rng: rng.fork("links"),
            frames: plan.frames,
            links: plan.links,
            framesPerLink: plan.framesPerLink,
            stopped: () => stopped,
          }),
          fakeNode.fuzz({ rng: rng.fork("fake node"), frames: plan.frames, stopped: () => stopped }),
        ]);
        const seconds = (performance.now() - started) / 1000;
        return { kind: "fuzzed", results: { clients, links, atAppServer, seconds } };
      });
    case "stop":
      stopped = true;
      return;
    case "check fake node":
      return void answer(async () => {
        await fakeNode.checkServes(message.timeoutMs);
        return { kind: "fake node serves" };
      });
    case "close":
      return void fakeNode.close().then(() => port.close());
  }
});

post({ kind: "fake node", url: fakeNode.url });
