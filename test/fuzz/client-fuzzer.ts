import WebSocket from "ws";
import type { Prng } from "./prng.ts";
import { corked } from "./corked.ts";
import {
  handshakeHeaders,
  newClientSessionState,
  nextClientPackets,
  observeServerText,
  packetBytes,
  type EnginePacket,
} from "./client-frames.ts";

/**
 * Drives generated client frames at a node's hub from many sessions at once: WebSocket sessions
 * (one frame per packet) and HTTP long-polling sessions (packets joined by \x1e in each POST). A
 * session the node or the app closes (as it should, for malformed input) is replaced by a new one.
 */
export interface ClientFuzzOptions {
  /** The hub's Engine.IO endpoint, e.g. http://127.0.0.1:7400/clients/socketio/hubs/chat/ */
  endpoint: string;
  rng: Prng;
  /** Frames to send in all (the run stops at the first batch past it). */
  frames: number;
  websocketSessions: number;
  pollingSessions: number;
  /** Set when the run must stop early (a process died): workers end their sessions. */
  stopped: () => boolean;
  /** Reports the frames sent so far; resolves when this fuzzer is not ahead of the others (see Pace). */
  keepPace: (frames: number) => Promise<void>;
}

export interface ClientFuzzCounts {
  frames: number;
  bytes: number;
  websocketFrames: number;
  pollingFrames: number;
  /** Sessions opened (each replaced one was closed by the node or the app, or ended by us). */
  sessions: number;
  /** Sessions the node refused at the handshake (should be none: the hub is served). */
  refusedHandshakes: number;
  /** From the first frame to the last. */
  seconds: number;
  /**
   * Sessions given up because the node took nothing from them for STALL_MS (it stops reading a
   * client while the client's app server reads too slowly: flow control, not a fault).
   */
  stalled: number;
  /** How many sessions wait where, now (for the report when a run hangs). */
  waiting: Record<string, number>;
}

/** Awaits `promise`, counting the session as waiting at `where` meanwhile. */
async function waitingAt<T>(counts: ClientFuzzCounts, where: string, promise: Promise<T>): Promise<T> {
  counts.waiting[where] = (counts.waiting[where] ?? 0) + 1;
  try {
    return await promise;
  } finally {
    counts.waiting[where]!--;
  }
}

/** How long a session may wait for the node to take its frames before it is given up. */
const STALL_MS = 20_000;
/** How long a CONNECT to "/" may wait for its answer before the session is given up. */
const CONNECT_ANSWER_MS = 1000;
/** Frames written and not yet handed to the kernel, per WebSocket session, at most. */
const SEND_WINDOW = 64;
/** Packets per WebSocket write, at least (a binary packet's attachments may add a few). */
const WEBSOCKET_BATCH = 8;
/** Packets per polling POST, at most. */
const POLLING_BATCH = 16;

export function newClientFuzzCounts(): ClientFuzzCounts {
  return {
    frames: 0,
    bytes: 0,
    websocketFrames: 0,
    pollingFrames: 0,
    sessions: 0,
    refusedHandshakes: 0,
    seconds: 0,
    stalled: 0,
    waiting: {},
  };
}

/** Runs the sessions until `options.frames` were sent; `counts` (given, to be watched) fills up. */
export async function fuzzClients(
  options: ClientFuzzOptions,
  counts: ClientFuzzCounts = newClientFuzzCounts(),
): Promise<ClientFuzzCounts> {
  const started = performance.now();
  const done = () => counts.frames >= options.frames || options.stopped();
  const workers: Promise<void>[] = [];
  for (let i = 0; i < options.websocketSessions; i++) {
    const rng = options.rng.fork(`ws${i}`);
    workers.push(
      (async () => {
        while (!done()) await websocketSession(options, rng, counts, done);
      })(),
    );
  }
  for (let i = 0; i < options.pollingSessions; i++) {
    const rng = options.rng.fork(`polling${i}`);
    workers.push(
      (async () => {
        while (!done()) await pollingSession(options, rng, counts, done);
      })(),
    );
  }
  await Promise.all(workers);
  counts.seconds = (performance.now() - started) / 1000;
  await options.keepPace(counts.frames);
  return counts;
}

function count(counts: ClientFuzzCounts, packet: EnginePacket, transport: "websocket" | "polling"): void {
  counts.frames++;
  counts.bytes += packetBytes(packet);
  if (transport === "websocket") counts.websocketFrames++;
  else counts.pollingFrames++;
}

/** One WebSocket session: handshake, CONNECT to "/", then generated frames until it is closed. */
async function websocketSession(
  { endpoint, keepPace }: ClientFuzzOptions,
  rng: Prng,
  counts: ClientFuzzCounts,
  done: () => boolean,
): Promise<void> {
  const url = endpoint.replace(/^http/, "ws") + "?EIO=4&transport=websocket";
  const ws = new WebSocket(url, { headers: handshakeHeaders(rng) });
  counts.sessions++;
  const state = newClientSessionState();
  let closed = false;
  let wake: () => void = () => {};
  const changed = () => wake();
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    if (isBinary) return;
    const text = data.toString();
    if (text === "2") ws.send("3"); // Engine.IO heartbeat: the server pings, the client answers
    observeServerText(state, text);
    changed();
  });
  ws.on("unexpected-response", (_req, res) => {
    counts.refusedHandshakes++;
    res.resume();
  });
  ws.on("error", () => {});
  ws.on("close", () => {
    closed = true;
    changed();
  });
  /** Resolves when `condition` holds or the session closed; false after `timeoutMs`. */
  const waitFor = (condition: () => boolean, timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      if (condition() || closed) return resolve(!closed);
      const timer = setTimeout(() => resolve(false), timeoutMs);
      wake = () => {
        if (!condition() && !closed) return;
        clearTimeout(timer);
        wake = () => {};
        resolve(!closed);
      };
    });
  let inFlight = 0;
  try {
    if (
      !(await waitingAt(
        counts,
        "ws open",
        waitFor(() => ws.readyState === WebSocket.OPEN, 10_000),
      ))
    )
      return;
    while (!closed && !done() && !state.left) {
      await waitingAt(counts, "ws pace", keepPace(counts.frames));
      // A CONNECT to "/" is answered before the session's events go: socket.io would close a
      // session that sends events for a namespace it has not joined yet.
      if (state.connecting.has("/")) {
        const answered = waitFor(() => !state.connecting.has("/"), CONNECT_ANSWER_MS);
        if (!(await waitingAt(counts, "ws connect answer", answered))) return;
      }
      // A few packets at a time, in one write; nothing follows a CONNECT to "/" before its answer.
      const batch: EnginePacket[] = [];
      do batch.push(...nextClientPackets(rng, state));
      while (batch.length < WEBSOCKET_BATCH && !state.connecting.has("/") && !state.left);
      corked(ws, () => {
        for (const packet of batch) {
          if (closed) break;
          inFlight++;
          ws.send(packet.data, (error) => {
            inFlight--;
            if (!error) count(counts, packet, "websocket");
            changed();
          });
        }
      });
      if (inFlight >= SEND_WINDOW) {
        const drained = waitFor(() => inFlight < SEND_WINDOW / 2, STALL_MS);
        if (!(await waitingAt(counts, "ws send window", drained)) && !closed) {
          // The node has not read this session for long (flow control: its app server reads slowly).
          counts.stalled++;
          return;
        }
      }
    }
    await waitingAt(
      counts,
      "ws last sends",
      waitFor(() => inFlight === 0, 5000),
    );
  } finally {
    if (!closed) ws.terminate();
  }
}

/** One long-polling session: handshake, then POSTs of generated packets while a GET loop reads. */
async function pollingSession(
  { endpoint, keepPace }: ClientFuzzOptions,
  rng: Prng,
  counts: ClientFuzzCounts,
  done: () => boolean,
): Promise<void> {
  const base = `${endpoint}?EIO=4&transport=polling`;
  const handshake = await waitingAt(
    counts,
    "polling handshake",
    fetch(base, { headers: handshakeHeaders(rng), signal: AbortSignal.timeout(STALL_MS) }).catch(
      () => undefined,
    ),
  );
  if (!handshake?.ok) {
    counts.refusedHandshakes++;
    await handshake?.arrayBuffer();
    return;
  }
  const open = await handshake.text();
  const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
  counts.sessions++;
  const url = `${base}&sid=${encodeURIComponent(sid)}`;
  const state = newClientSessionState();
  const reading = new AbortController();
  // The reader stops waiting at the abort itself: in one run on Node.js 20 (undici 6) a session's
  // reader was still waiting on its GET long after the abort (nodejs/undici#4089 and
  // nodejs/node#56917 report fetch bodies that never settle after an abort).
  const readingAborted = new Promise<undefined>((resolve) =>
    reading.signal.addEventListener("abort", () => resolve(undefined), { once: true }),
  );
  let closed = false;
  let wake: () => void = () => {};
  // The GET loop: what the server writes (CONNECT answers, ack requests) shapes the next packets.
  const reader = (async () => {
    while (!closed) {
      const response = await Promise.race([
        fetch(url, { signal: reading.signal }).catch(() => undefined),
        readingAborted,
      ]);
      if (!response?.ok) {
        await Promise.race([response?.arrayBuffer().catch(() => undefined), readingAborted]);
        break;
      }
      const payload = (await Promise.race([response.text().catch(() => ""), readingAborted])) ?? "";
      for (const packet of payload.split("\u001e")) {
        if (packet === "2") void post(url, "3");
        if (packet === "1") closed = true;
        observeServerText(state, packet);
      }
      wake();
    }
    closed = true;
    wake();
  })();
  try {
    while (!closed && !done() && !state.left) {
      await waitingAt(counts, "polling pace", keepPace(counts.frames));
      if (state.connecting.has("/")) {
        const answer = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), CONNECT_ANSWER_MS);
          wake = () => {
            if (state.connecting.has("/") && !closed) return;
            clearTimeout(timer);
            wake = () => {};
            resolve(!closed);
          };
          wake();
        });
        const answered = await waitingAt(counts, "polling connect answer", answer);
        if (!answered) break;
      }
      // Nothing follows a CONNECT to "/" in its POST: the session's events wait for its answer.
      const batch: EnginePacket[] = [];
      const size = rng.int(1, POLLING_BATCH);
      do batch.push(...nextClientPackets(rng, state));
      while (batch.length < size && !state.connecting.has("/") && !state.left);
      const posted = await waitingAt(
        counts,
        "polling post",
        post(url, batch.map(pollingText).join("\u001e")),
      );
      if (posted === "stalled") counts.stalled++;
      if (posted !== "ok") break;
      for (const packet of batch) count(counts, packet, "polling");
    }
  } finally {
    closed = true;
    reading.abort();
    await waitingAt(counts, "polling reader end", reader);
  }
}

/** Polling carries binary packets as "b" + base64. */
function pollingText(packet: EnginePacket): string {
  return packet.kind === "text" ? packet.data : "b" + Buffer.from(packet.data).toString("base64");
}

/** A POST of packets: taken ("ok"), refused (the session is gone), or not answered in time. */
async function post(url: string, body: string): Promise<"ok" | "refused" | "stalled"> {
  const signal = AbortSignal.timeout(STALL_MS);
  const response = await fetch(url, { method: "POST", body, signal }).catch(() => undefined);
  await response?.arrayBuffer().catch(() => undefined);
  if (response?.ok) return "ok";
  return signal.aborted ? "stalled" : "refused";
}
