/**
 * The fuzzers' own thread: the fake node, the client fuzzer and the app-link fuzzer, driven by the
 * test through messages (see fuzzers.ts). Generating and sending 300,000 frames keeps a thread
 * busy; here it does not delay the test's own thread, where the bystanders measure how fast the
 * node and the app server answer.
 */
import { parentPort } from "node:worker_threads";
import { Prng } from "./prng.ts";
import { fuzzClients, newClientFuzzCounts } from "./client-fuzzer.ts";
import { fuzzAppLinks } from "./link-fuzzer.ts";
import { startFakeNode } from "./fake-node.ts";
import { Pace } from "./pace.ts";
import type { FromFuzzers, ToFuzzers } from "./fuzzers.ts";

const port = parentPort!;
const post = (message: FromFuzzers) => port.postMessage(message);
const fakeNode = await startFakeNode();
let stopped = false;
let pace: Pace | undefined;
/** The client fuzzer's counts, watched for the report when a run hangs. */
const clientCounts = newClientFuzzCounts();

/** Answers a request with what `work` gives, or with why it failed. */
async function answer<R extends FromFuzzers["answers"]>(
  request: R,
  work: () => Promise<FromFuzzers>,
): Promise<void> {
  try {
    post(await work());
  } catch (error) {
    post({
      answers: request,
      failed: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
}

port.on("message", (message: ToFuzzers) => {
  switch (message.kind) {
    case "fuzz":
      return void answer("fuzz", async () => {
        const { plan } = message;
        const rng = new Prng(plan.seed);
        const abreast = (pace = new Pace(plan.frames));
        const keepPace = (name: string) => (frames: number) => {
          abreast.report(name, frames);
          return abreast.turn(name);
        };
        for (const name of ["clients", "links", "fake node"]) abreast.report(name, 0);
        const [clients, links, atAppServer] = await Promise.all([
          fuzzClients(
            {
              endpoint: plan.clientEndpoint,
              rng: rng.fork("clients"),
              frames: plan.frames,
              websocketSessions: plan.websocketSessions,
              pollingSessions: plan.pollingSessions,
              stopped: () => stopped,
              keepPace: keepPace("clients"),
            },
            clientCounts,
          ),
          fuzzAppLinks({
            nodeUrl: plan.nodeUrl,
            hub: plan.hub,
            accessKey: plan.accessKey,
            rng: rng.fork("links"),
            frames: plan.frames,
            links: plan.links,
            framesPerLink: plan.framesPerLink,
            stopped: () => stopped,
            keepPace: keepPace("links"),
          }),
          fakeNode.fuzz({
            rng: rng.fork("fake node"),
            frames: plan.frames,
            stopped: () => stopped,
            keepPace: keepPace("fake node"),
          }),
        ]);
        return { answers: "fuzz", results: { clients, links, atAppServer } };
      });
    case "progress":
      post({
        answers: "progress",
        frames: pace?.progress() ?? {},
        clientsWaiting: { ...clientCounts.waiting },
      });
      return;
    case "stop":
      stopped = true;
      pace?.release();
      return;
    case "check fake node":
      return void answer("check fake node", async () => {
        await fakeNode.checkServes(message.timeoutMs);
        return { answers: "check fake node" };
      });
    case "close":
      return void fakeNode.close().then(() => port.close());
  }
});

post({ answers: "start", fakeNodeUrl: fakeNode.url });
