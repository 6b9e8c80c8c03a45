import WebSocket from "ws";
import {
  appLinkPath,
  decodeMessage,
  encodeMessage,
  MessageType,
  signLinkToken,
  SocketId,
  StreamId,
  type Message,
} from "@regio/protocol";
import type { Prng } from "./prng.ts";
import { corked } from "./corked.ts";
import { newAppLinkContext, nextAppLinkFrame, remember, type AppLinkContext } from "./app-link-frames.ts";
import { countLinkFrame, newFrameCounts, type FrameCounts } from "./frame-counts.ts";

/**
 * Drives generated app-link frames at a node over authenticated raw app links, several at once.
 * One link says Ready, so the node hands it client sessions (of the fuzzed clients): it answers
 * their CONNECTs, as a hostile app server that still serves would, and its frames then name real
 * sessions. Every link is closed and made again every `framesPerLink` frames, so that the node
 * also sees links go with sessions, sockets and requests pending.
 */
export interface LinkFuzzOptions {
  nodeUrl: string;
  hub: string;
  accessKey: string;
  rng: Prng;
  frames: number;
  links: number;
  framesPerLink: number;
  stopped: () => boolean;
  /** Reports the frames sent so far; resolves when this fuzzer is not ahead of the others (see Pace). */
  keepPace: (frames: number) => Promise<void>;
}

export interface LinkFuzzCounts extends FrameCounts {
  links: number;
  /** Frames the node sent back, by message type. */
  received: Record<string, number>;
  /** Links the node closed on its own (it should keep them: bad frames get an Error, not a close). */
  closedByNode: number;
}

const SEND_WINDOW = 64;
/** Frames per write. */
const BATCH = 8;

export async function fuzzAppLinks(options: LinkFuzzOptions): Promise<LinkFuzzCounts> {
  const counts: LinkFuzzCounts = { ...newFrameCounts(), links: 0, received: {}, closedByNode: 0 };
  const done = () => counts.frames >= options.frames || options.stopped();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.links }, async (_, index) => {
      const rng = options.rng.fork(`link${index}`);
      for (let round = 0; !done(); round++) await linkSession(options, rng, counts, index, round, done);
    }),
  );
  counts.seconds = (performance.now() - started) / 1000;
  await options.keepPace(counts.frames);
  return counts;
}

async function linkSession(
  options: LinkFuzzOptions,
  rng: Prng,
  counts: LinkFuzzCounts,
  index: number,
  round: number,
  done: () => boolean,
): Promise<void> {
  const sub = `fuzz-link-${index}`;
  const token = signLinkToken(options.accessKey, { hub: options.hub, sub });
  const ws = new WebSocket(options.nodeUrl.replace(/^http/, "ws") + appLinkPath(options.hub), {
    headers: { authorization: `Bearer ${token}` },
  });
  counts.links++;
  const ctx = newAppLinkContext();
  let closed = false;
  let closing = false;
  let hello = false;
  let inFlight = 0;
  let wake: () => void = () => {};
  const send = (data: Uint8Array | string, type: number | undefined) => {
    inFlight++;
    ws.send(data, { binary: typeof data !== "string" }, (error) => {
      inFlight--;
      if (!error) countLinkFrame(counts, data, type);
      wake();
    });
  };
  ws.on("message", (data: Buffer) => {
    const message = decodeMessage(data); // the node sends valid frames only: a throw fails the run
    counts.received[message.type] = (counts.received[message.type] ?? 0) + 1;
    if (message.type === MessageType.Hello) hello = true;
    observe(ctx, message, (reply) => send(encodeMessage(reply), reply.type));
    wake();
  });
  ws.on("error", () => {});
  ws.on("close", () => {
    if (!closing) counts.closedByNode++;
    closed = true;
    wake();
  });
  const waitFor = (condition: () => boolean) =>
    new Promise<void>((resolve) => {
      wake = () => {
        if (!condition() && !closed) return;
        wake = () => {};
        resolve();
      };
      wake();
    });
  await waitFor(() => hello);
  if (!hello) throw new Error(`the node refused or dropped app link ${sub} before its Hello`);
  // The first link says Ready: the node hands it sessions from then on.
  if (index === 0)
    send(encodeMessage({ type: MessageType.Ready, stream: StreamId(`${sub}/${round}`) }), MessageType.Ready);
  let sent = 0;
  while (!closed && !done() && sent < options.framesPerLink) {
    await options.keepPace(counts.frames);
    if (closed || done()) break;
    corked(ws, () => {
      for (let i = 0; i < BATCH; i++) {
        const frame = nextAppLinkFrame(rng, ctx);
        send(frame.data, frame.type);
      }
    });
    sent += BATCH;
    if (inFlight >= SEND_WINDOW) await waitFor(() => inFlight < SEND_WINDOW / 2);
  }
  await waitFor(() => inFlight === 0);
  closing = true;
  if (!closed) {
    ws.close(1000, "fuzz round over");
    await waitFor(() => closed);
  }
}

/** What the node said shapes what the link sends next; CONNECTs of its sessions are answered. */
function observe(ctx: AppLinkContext, message: Message, reply: (message: Message) => void): void {
  switch (message.type) {
    case MessageType.SessionOpen:
      remember(ctx.sessions, message.sessionId);
      return;
    case MessageType.SessionClosed:
      ctx.sessions = ctx.sessions.filter((id) => id !== message.sessionId);
      return;
    case MessageType.ServerSideEmitDeliver:
      if (message.requestId !== undefined) remember(ctx.deliveries, message.requestId);
      return;
    case MessageType.FetchSocketsResult: {
      const nsp = ctx.fetches.get(message.requestId);
      if (nsp === undefined) return;
      for (const socket of message.sockets) {
        if (!ctx.sockets.some((own) => own.sid === socket.id)) remember(ctx.others, { nsp, sid: socket.id });
      }
      return;
    }
    case MessageType.SessionMessage: {
      const data = message.data;
      if (typeof data !== "string" || data[0] !== "0") return;
      const comma = data.indexOf(",");
      const nsp = data.startsWith("0/") && comma > 0 ? data.slice(1, comma) : "/";
      const sid = SocketId(`fz-${message.sessionId.slice(0, 8)}-${ctx.sockets.length}`);
      remember(ctx.sockets, { nsp, sid });
      reply({
        type: MessageType.SessionSend,
        sessionId: message.sessionId,
        data: [`0${nsp === "/" ? "" : `${nsp},`}{"sid":"${sid}"}`],
        flags: 0,
      });
      reply({
        type: MessageType.Join,
        sessionId: message.sessionId,
        nsp,
        sid,
        rooms: [sid],
        snapshot: { id: sid, handshake: PLAIN_HANDSHAKE, rooms: [sid], data: null },
      });
      return;
    }
  }
}

const PLAIN_HANDSHAKE = {
  headers: {},
  time: "",
  address: "127.0.0.1",
  xdomain: false,
  secure: false,
  issued: 0,
  url: "/",
  query: {},
  auth: {},
};
