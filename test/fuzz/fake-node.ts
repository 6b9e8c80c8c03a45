import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import { decodeMessage, encodeMessage, MessageType, NodeId, SessionId, type Message } from "@regio/protocol";
import type { Prng } from "./prng.ts";
import { corked } from "./corked.ts";
import {
  newFakeNodeContext,
  nextNodeFrames,
  observeAppServerMessage,
  plainHandshake,
  type FakeNodeContext,
} from "./node-frames.ts";
import { countLinkFrame, newFrameCounts, type FrameCounts } from "./frame-counts.ts";
import { encodeRaw } from "./raw-msgpack.ts";

/**
 * A node that is not one: a WebSocket server on 127.0.0.1 that the app server under test links to
 * (hub "fuzz") as to any node. It says a proper Hello on every link, then sends generated
 * broker -> SDK frames on the links that said Ready, and learns from what the SDK sends (its
 * sockets, requests and operations) so that its frames also name things that exist.
 */
export interface FakeNode {
  readonly url: string;
  /** Sends `frames` generated frames over the app server's links (spread over them). */
  fuzz(options: {
    rng: Prng;
    frames: number;
    stopped: () => boolean;
    /** Reports the frames sent so far; resolves when this fuzzer is not ahead of the others (see Pace). */
    keepPace: (frames: number) => Promise<void>;
  }): Promise<FrameCounts>;
  /**
   * After the fuzzing: a proper Hello again, then a new session that connects to "/" and gets an
   * echo answered, within `timeoutMs`: the app server's fuzzed hub still serves.
   */
  checkServes(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

const SEND_WINDOW = 64;
/** Generated frames per write (one may be several frames: a packet and its attachments). */
const BATCH = 8;

interface Link {
  ws: WebSocket;
  ready: boolean;
  inFlight: number;
}

export async function startFakeNode(): Promise<FakeNode> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ctx: FakeNodeContext = newFakeNodeContext(url);
  const links = new Set<Link>();
  const listeners = new Set<(message: Message, link: Link) => void>();
  let wake: () => void = () => {};
  const sane: Message = {
    type: MessageType.Hello,
    nodeId: NodeId("fake-node"),
    region: "fake",
    nodes: [{ nodeId: NodeId("fake-node"), url, region: "fake" }],
    limits: { maxOperationBytes: 990_000 },
  };
  server.on("connection", (ws) => {
    const link: Link = { ws, ready: false, inFlight: 0 };
    links.add(link);
    ws.on("message", (data: Buffer) => {
      const message = decodeMessage(data); // the SDK sends valid frames only: a throw fails the run
      if (message.type === MessageType.Ready) link.ready = true;
      observeAppServerMessage(ctx, message);
      for (const listener of listeners) listener(message, link);
      wake();
    });
    ws.on("error", () => {});
    ws.on("close", () => {
      links.delete(link);
      wake();
    });
    ws.send(encodeMessage(sane));
  });
  const waitFor = (condition: () => boolean, stopped: () => boolean = () => false) =>
    new Promise<void>((resolve) => {
      wake = () => {
        if (!condition() && !stopped()) return;
        wake = () => {};
        resolve();
      };
      wake();
    });
  const readyLinks = () => [...links].filter((link) => link.ready && link.ws.readyState === WebSocket.OPEN);

  return {
    url,
    async fuzz({ rng, frames, stopped, keepPace }) {
      const counts = newFrameCounts();
      const started = performance.now();
      let turn = 0;
      while (counts.frames < frames && !stopped()) {
        await keepPace(counts.frames);
        await waitFor(() => readyLinks().length > 0, stopped);
        const ready = readyLinks();
        if (ready.length === 0) continue;
        const link = ready[turn++ % ready.length]!;
        const batch = Array.from({ length: BATCH }, () => nextNodeFrames(rng, ctx)).flat();
        corked(link.ws, () => {
          for (const frame of batch) {
            link.inFlight++;
            link.ws.send(frame.data, { binary: typeof frame.data !== "string" }, (error) => {
              link.inFlight--;
              if (!error) countLinkFrame(counts, frame.data, frame.type);
              wake();
            });
          }
        });
        if (link.inFlight >= SEND_WINDOW) await waitFor(() => link.inFlight < SEND_WINDOW / 2, stopped);
      }
      await waitFor(() => [...links].every((link) => link.inFlight === 0), stopped);
      counts.seconds = (performance.now() - started) / 1000;
      await keepPace(counts.frames);
      return counts;
    },
    async checkServes(timeoutMs) {
      await waitFor(() => readyLinks().length > 0);
      for (const link of readyLinks()) link.ws.send(encodeMessage(sane));
      const link = readyLinks()[0]!;
      const sessionId = SessionId(`final-${Date.now()}.fake`);
      const answer = (expected: RegExp) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            listeners.delete(listener);
            reject(
              new Error(`the fuzzed hub's app server did not answer ${expected} within ${timeoutMs} ms`),
            );
          }, timeoutMs);
          const listener = (message: Message) => {
            if (message.type !== MessageType.SessionSend || message.sessionId !== sessionId) return;
            if (!message.data.some((part) => typeof part === "string" && expected.test(part))) return;
            clearTimeout(timer);
            listeners.delete(listener);
            resolve();
          };
          listeners.add(listener);
        });
      const connected = answer(/^0\{"sid":/);
      link.ws.send(encodeRaw([MessageType.SessionOpen, sessionId, plainHandshake()]));
      link.ws.send(encodeMessage({ type: MessageType.SessionMessage, sessionId, data: "0" }));
      await connected;
      const echoed = answer(/^37\["still serving"\]$/);
      link.ws.send(
        encodeMessage({ type: MessageType.SessionMessage, sessionId, data: '27["echo","still serving"]' }),
      );
      await echoed;
      link.ws.send(encodeMessage({ type: MessageType.SessionClosed, sessionId, reason: "transport close" }));
    },
    async close() {
      for (const link of links) link.ws.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
