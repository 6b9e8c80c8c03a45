import { ErrorCode, MessageType, type Message } from "@regio/protocol";
import type { Prng } from "./prng.ts";
import { ODD_STRINGS, extremeString } from "./extreme-values.ts";
import {
  newClientSessionState,
  nextClientPackets,
  observeServerText,
  ROOM_POOL,
  type ClientSessionState,
  type EnginePacket,
} from "./client-frames.ts";
import {
  anyValue,
  extremeInt,
  fieldValue,
  malformed,
  stringList,
  url,
  wellFormed,
  type LinkFrame,
} from "./link-fields.ts";

/**
 * App-link frames a node could send an app server (broker -> SDK), at the SDK of the app server
 * under test: Hello with extreme node lists and limits; SessionOpen with extreme handshakes;
 * SessionMessage carrying generated client packets for sessions it opened (so they reach the app's
 * handlers) and for sessions that do not exist; SessionClosed and SessionUpgraded; ApplyToSockets
 * for the app's real sockets; ServerSideEmitDeliver with any event name; OpAck of any seq; results
 * for requests the SDK made and for ones it never made; Error with refs; the types only an app
 * server sends; and malformed frames.
 */

/** What the fake node knows from what the SDK told it. */
export interface FakeNodeContext {
  /** The fake node's own URL (Hello lists it, and variants of it). */
  ownUrl: string;
  /** Sessions it opened and has not closed, with what their "client" knows. */
  sessions: Map<string, ClientSessionState>;
  /** Sockets the SDK announced (Join). */
  sockets: Array<{ nsp: string; sid: string }>;
  /** Request ids the SDK sent (FetchSockets, ServerCount, ServerSideEmit, BroadcastWithAck). */
  requests: number[];
  /** Sequence numbers of the SDK's operations. */
  seqs: number[];
  nextSession: number;
}

export function newFakeNodeContext(ownUrl: string): FakeNodeContext {
  return { ownUrl, sessions: new Map(), sockets: [], requests: [], seqs: [], nextSession: 0 };
}

/** Sessions the fake node keeps open at most: past it, it closes the oldest. */
const MAX_SESSIONS = 200;

const SENT_BY_APP_SERVER: readonly MessageType[] = [
  MessageType.Ready,
  MessageType.SessionSend,
  MessageType.Join,
  MessageType.Broadcast,
  MessageType.FetchSockets,
  MessageType.ServerSideEmitResponse,
];

const RESULTS: readonly MessageType[] = [
  MessageType.FetchSocketsResult,
  MessageType.ServerCountResult,
  MessageType.BroadcastAckCount,
  MessageType.BroadcastAck,
  MessageType.ServerSideEmitResult,
];

/** A valid handshake, as a node builds it for a client of hub "fuzz". */
export function plainHandshake(): Record<string, unknown> {
  return {
    url: "/clients/socketio/hubs/fuzz/?EIO=4&transport=websocket",
    headers: { host: "127.0.0.1" },
    remoteAddress: "127.0.0.1",
    secure: false,
    transport: "websocket",
    protocol: 4,
  };
}

/** The next frames (a client packet with attachments is several SessionMessages). */
export function nextNodeFrames(rng: Prng, ctx: FakeNodeContext): LinkFrame[] {
  return rng.weighted<() => LinkFrame[]>([
    [40, () => sessionMessages(rng, ctx)],
    [8, () => [sessionOpen(rng, ctx)]],
    [4, () => [sessionClosed(rng, ctx)]],
    [2, () => [wellFormed(rng, MessageType.SessionUpgraded, { sessionId: () => sessionId(rng, ctx) })]],
    [6, () => [applyToSockets(rng, ctx)]],
    [4, () => [serverSideEmitDeliver(rng)]],
    [
      4,
      () => [wellFormed(rng, MessageType.OpAck, { seq: () => known(rng, ctx.seqs, () => extremeInt(rng)) })],
    ],
    [
      8,
      () => [
        wellFormed(rng, rng.pick(RESULTS), {
          requestId: () => known(rng, ctx.requests, () => extremeInt(rng)),
        }),
      ],
    ],
    [1.5, () => [hello(rng, ctx)]],
    [3, () => [error(rng, ctx)]],
    [1, () => [wellFormed(rng, rng.pick(SENT_BY_APP_SERVER))]],
    [12, () => [malformed(rng)]],
  ])();
}

/** What the SDK sent the fake node: its context grows from it. */
export function observeAppServerMessage(ctx: FakeNodeContext, message: Message): void {
  const remember = <T>(list: T[], item: T) => {
    list.push(item);
    if (list.length > 256) list.shift();
  };
  if ("requestId" in message && message.requestId !== undefined) remember(ctx.requests, message.requestId);
  if ("seq" in message && message.seq !== undefined && message.seq > 0) remember(ctx.seqs, message.seq);
  switch (message.type) {
    case MessageType.Join:
      remember(ctx.sockets, { nsp: message.nsp, sid: message.sid });
      return;
    case MessageType.SessionSend: {
      // The app's Socket.IO packets, as its "client" reads them (wrapped as Engine.IO messages).
      const state = ctx.sessions.get(message.sessionId);
      if (state)
        for (const part of message.data) if (typeof part === "string") observeServerText(state, "4" + part);
      return;
    }
    case MessageType.SessionClose:
      ctx.sessions.delete(message.sessionId);
      return;
  }
}

function known<T>(rng: Prng, items: readonly T[], orElse: () => T): T {
  return items.length > 0 && rng.chance(0.6) ? rng.pick(items) : orElse();
}

function sessionId(rng: Prng, ctx: FakeNodeContext): string {
  return known(rng, [...ctx.sessions.keys()], () => extremeString(rng, 64));
}

/** Client packets of one session, as the node forwards them (one Engine.IO message each). */
function sessionMessages(rng: Prng, ctx: FakeNodeContext): LinkFrame[] {
  const ids = [...ctx.sessions.keys()];
  if (ids.length === 0 || rng.chance(0.05)) {
    return [wellFormed(rng, MessageType.SessionMessage, { sessionId: () => extremeString(rng, 64) })];
  }
  const id = rng.pick(ids);
  const state = ctx.sessions.get(id)!;
  if (state.left) {
    // Its client left "/" (its last packet): the session ends, as a node reports it.
    ctx.sessions.delete(id);
    return [wellFormed(rng, MessageType.SessionClosed, { sessionId: () => id })];
  }
  return nextClientPackets(rng, state, { largeBytes: 200_000, largeChance: 0.0002 }).map((packet) =>
    wellFormed(rng, MessageType.SessionMessage, { sessionId: () => id, data: () => messageData(packet) }),
  );
}

/** An Engine.IO packet as SessionMessage data: a message's payload, or (odd) the packet as is. */
function messageData(packet: EnginePacket): string | Uint8Array {
  if (packet.kind === "binary") return packet.data;
  return packet.data.startsWith("4") ? packet.data.slice(1) : packet.data;
}

function sessionOpen(rng: Prng, ctx: FakeNodeContext): LinkFrame {
  if (ctx.sessions.size >= MAX_SESSIONS) {
    const oldest = ctx.sessions.keys().next().value!;
    ctx.sessions.delete(oldest);
    return wellFormed(rng, MessageType.SessionClosed, { sessionId: () => oldest });
  }
  // Now and then an id already open: a node must not do it, a broken one might.
  const reuse = ctx.sessions.size > 0 && rng.chance(0.03);
  const id = reuse ? rng.pick([...ctx.sessions.keys()]) : `fz${ctx.nextSession++}.fake`;
  ctx.sessions.set(id, newClientSessionState());
  return wellFormed(rng, MessageType.SessionOpen, {
    sessionId: () => id,
    handshake: () => (rng.chance(0.6) ? plainHandshake() : fieldValue(rng, "handshake")),
  });
}

function sessionClosed(rng: Prng, ctx: FakeNodeContext): LinkFrame {
  const id = sessionId(rng, ctx);
  ctx.sessions.delete(id);
  return wellFormed(rng, MessageType.SessionClosed, { sessionId: () => id });
}

function applyToSockets(rng: Prng, ctx: FakeNodeContext): LinkFrame {
  const sockets = ctx.sockets.length > 0 && rng.chance(0.8) ? ctx.sockets : [];
  const nsp = sockets.length > 0 ? rng.pick(sockets).nsp : rng.pick(["/", "/fuzz", extremeString(rng, 16)]);
  const sids = sockets.filter((s) => s.nsp === nsp).map((s) => s.sid);
  return wellFormed(rng, MessageType.ApplyToSockets, {
    nsp: () => nsp,
    sids: () => stringList(rng, sids),
    action: () => (rng.chance(0.85) ? rng.int(1, 4) : extremeInt(rng)),
    rooms: () => stringList(rng, ROOM_POOL),
  });
}

function serverSideEmitDeliver(rng: Prng): LinkFrame {
  return wellFormed(rng, MessageType.ServerSideEmitDeliver, {
    nsp: () => rng.pick(["/", "/fuzz", extremeString(rng, 16)]),
    args: () => [
      rng.pick(["fuzz", "fuzz", "fuzz", ...ODD_STRINGS]),
      ...Array.from({ length: rng.size(4) }, () => anyValue(rng)),
    ],
  });
}

function hello(rng: Prng, ctx: FakeNodeContext): LinkFrame {
  const own = new URL(ctx.ownUrl);
  const urls = [
    ctx.ownUrl,
    `${ctx.ownUrl}/`,
    `http://localhost:${own.port}`,
    "http://127.0.0.1:1",
    "http://127.0.0.1:2",
  ];
  const count = rng.chance(0.01) ? rng.size(10_000) : rng.size(8);
  return wellFormed(rng, MessageType.Hello, {
    nodes: () =>
      Array.from({ length: count }, () => ({
        nodeId: rng.chance(0.5) ? "fake-node" : extremeString(rng, 32),
        url: rng.chance(0.8) ? rng.pick(urls) : url(rng),
        region: extremeString(rng, 16),
      })),
  });
}

function error(rng: Prng, ctx: FakeNodeContext): LinkFrame {
  return wellFormed(rng, MessageType.Error, {
    code: () => (rng.chance(0.7) ? rng.pick(Object.values(ErrorCode)) : extremeString(rng, 32)),
    seq: () => known(rng, ctx.seqs, () => extremeInt(rng)),
    requestId: () => known(rng, ctx.requests, () => extremeInt(rng)),
  });
}
