import { decodeMessage, MessageType, type Message } from "@regio/protocol";
import type { Prng } from "./prng.ts";
import { ODD_STRINGS, extremeString, randomValue } from "./extreme-values.ts";
import { ROOM_POOL } from "./client-frames.ts";
import {
  anyValue,
  extremeInt,
  malformed,
  snapshot,
  stringList,
  target,
  wellFormed,
  type LinkFrame,
  type Overrides,
} from "./link-fields.ts";

/**
 * App-link frames an app server could send a node (SDK -> broker): every message type the node
 * accepts, with extreme fields (seqs and request ids at every edge, huge room lists, deep and large
 * snapshots and socket.data, timeouts past 2^31, sessions and sockets that do not exist or are
 * another link's); the types only a node sends; and malformed frames. Operations that a node
 * carries out (Broadcast, SocketsJoin/Leave, DisconnectSockets, ServerSideEmit) target the
 * namespace "/fuzz" only: the bystanders (in "/") must be served because the node is healthy, not
 * spared because no valid operation could reach them.
 */

/** What one link knows from what the node told it. */
export interface AppLinkContext {
  /** Client sessions the node handed this link (after its Ready), still open. */
  sessions: string[];
  /** Sockets this link announced with Join (whether or not the node took them). */
  sockets: SocketRef[];
  /**
   * Other app servers' sockets (the bystanders' among them), from FetchSocketsResult: membership
   * messages naming them must change nothing, as the node lets a link change only its own sockets.
   */
  others: SocketRef[];
  /** The namespace each FetchSockets asked about, by request id, to read its result. */
  fetches: Map<number, string>;
  /** Request ids of ServerSideEmitDeliver the node waits for an answer to. */
  deliveries: number[];
  /** The next in-order seq of this link's operation stream. */
  nextSeq: number;
}

export interface SocketRef {
  nsp: string;
  sid: string;
}

export function newAppLinkContext(): AppLinkContext {
  return { sessions: [], sockets: [], others: [], fetches: new Map(), deliveries: [], nextSeq: 1 };
}

/** Keeps the last 256 of a list the generators draw from. */
export function remember<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > 256) list.shift();
}

/** The namespace the fuzzer's operations target: no bystander is in it. */
export const FUZZ_NAMESPACE = "/fuzz";

const ACCEPTED_BY_NODE: readonly MessageType[] = [
  MessageType.SessionSend,
  MessageType.SessionClose,
  MessageType.Join,
  MessageType.Leave,
  MessageType.LeaveAll,
  MessageType.SocketData,
  MessageType.Broadcast,
  MessageType.BroadcastWithAck,
  MessageType.SocketsJoin,
  MessageType.SocketsLeave,
  MessageType.DisconnectSockets,
  MessageType.ServerSideEmit,
  MessageType.FetchSockets,
  MessageType.ServerCount,
  MessageType.ServerSideEmitResponse,
];

const SENT_BY_NODE: readonly MessageType[] = [
  MessageType.Hello,
  MessageType.SessionOpen,
  MessageType.SessionMessage,
  MessageType.SessionClosed,
  MessageType.SessionUpgraded,
  MessageType.OpAck,
  MessageType.FetchSocketsResult,
  MessageType.ServerCountResult,
  MessageType.BroadcastAckCount,
  MessageType.BroadcastAck,
  MessageType.ServerSideEmitDeliver,
  MessageType.ServerSideEmitResult,
  MessageType.ApplyToSockets,
  MessageType.Error,
];

/** Every type but Ready, which makes a link serve sessions: the driver sends it on purpose. */
const ALL_BUT_READY = [...ACCEPTED_BY_NODE, ...SENT_BY_NODE];

export function nextAppLinkFrame(rng: Prng, ctx: AppLinkContext): LinkFrame {
  return rng.weighted<() => LinkFrame>([
    [
      62,
      () => {
        const type = rng.pick(ACCEPTED_BY_NODE);
        return wellFormed(rng, type, overrides(rng, ctx, type));
      },
    ],
    [3, () => wellFormed(rng, rng.pick(SENT_BY_NODE))],
    [35, () => malformedButHarmless(rng)],
  ])();
}

/**
 * A malformed frame, but not one that the mutation made into a valid operation on a namespace the
 * bystanders are in (a target swapped for another target naming "/" is a valid DisconnectSockets).
 */
function malformedButHarmless(rng: Prng): LinkFrame {
  for (;;) {
    const frame = malformed(rng, ALL_BUT_READY);
    if (!actsOutsideFuzzNamespace(frame)) return frame;
  }
}

function actsOutsideFuzzNamespace(frame: LinkFrame): boolean {
  if (typeof frame.data === "string") return false;
  let message: Message;
  try {
    message = decodeMessage(frame.data);
  } catch {
    return false;
  }
  switch (message.type) {
    case MessageType.Broadcast:
    case MessageType.BroadcastWithAck:
    case MessageType.SocketsJoin:
    case MessageType.SocketsLeave:
    case MessageType.DisconnectSockets:
      return message.target.nsp !== FUZZ_NAMESPACE;
    case MessageType.ServerSideEmit:
      return message.nsp !== FUZZ_NAMESPACE;
    default:
      return false;
  }
}

function overrides(rng: Prng, ctx: AppLinkContext, type: MessageType): Overrides {
  const known = <T>(items: readonly T[], orElse: () => T): T =>
    items.length > 0 && rng.chance(0.7) ? rng.pick(items) : orElse();
  // The socket a membership message names: one of this link's, another app server's, or a new one
  // (which a Join announces).
  const fresh = { nsp: rng.pick(["/", FUZZ_NAMESPACE]), sid: `fz-${rng.int(0, 2 ** 40).toString(36)}` };
  const socket = rng.weighted<() => SocketRef>([
    [ctx.sockets.length > 0 ? 5 : 0, () => rng.pick(ctx.sockets)],
    [ctx.others.length > 0 ? 2 : 0, () => rng.pick(ctx.others)],
    [3, () => fresh],
  ])();
  const ackId = rng.chance(0.8) ? 2 ** 48 + rng.int(0, 2 ** 20) : extremeInt(rng);
  // A FetchSockets remembers what it asked, so that its result teaches the link other sockets.
  const fetchNsp = rng.pick(["/", "/", FUZZ_NAMESPACE, extremeString(rng, 16)]);
  const fetchRequestId = rng.int(1, 2 ** 31);
  return {
    sessionId: () => known(ctx.sessions, () => extremeString(rng, 64)),
    nsp: () => (type === MessageType.ServerSideEmit ? FUZZ_NAMESPACE : socket.nsp),
    sid: () => {
      if (type === MessageType.Join && socket === fresh) remember(ctx.sockets, fresh);
      return socket.sid;
    },
    rooms: () => stringList(rng, ROOM_POOL),
    snapshot: () => snapshot(rng, socket.sid),
    data: type === MessageType.SocketData ? () => anyValue(rng) : undefined,
    seq: () =>
      rng.weighted<() => number>([
        [5, () => ctx.nextSeq++],
        [2, () => 0],
        [1, () => ctx.nextSeq + rng.int(-10, 1000)],
        [1, () => extremeInt(rng)],
      ])(),
    // Reading may look anywhere (it changes nothing); what acts stays in "/fuzz".
    target: () =>
      type === MessageType.FetchSockets
        ? target(rng, fetchNsp, ROOM_POOL)
        : target(rng, FUZZ_NAMESPACE, ROOM_POOL),
    // A question the "/fuzz" clients answer (they answer acks they are asked for), or anything.
    packet:
      type === MessageType.BroadcastWithAck || rng.chance(0.5)
        ? () => [`2/fuzz,${ackId}["question",${JSON.stringify(extremeString(rng))}]`]
        : undefined,
    ackId: () => ackId,
    args: () => [
      rng.pick(["fuzz", "fuzz", "fuzz", ...ODD_STRINGS]),
      ...Array.from({ length: rng.size(4) }, () => anyValue(rng)),
    ],
    requestId: () => {
      if (type !== MessageType.FetchSockets) return known(ctx.deliveries, () => extremeInt(rng));
      ctx.fetches.set(fetchRequestId, fetchNsp);
      if (ctx.fetches.size > 256) ctx.fetches.delete(ctx.fetches.keys().next().value!);
      return fetchRequestId;
    },
    timeoutMs: () => rng.pick([0, 1, 50, 300, 2 ** 31, 2 ** 40, 2 ** 53 - 1, -1, extremeInt(rng)]),
    response: () => (rng.chance(0.7) ? (randomValue(rng, 2, 3) ?? 0) : anyValue(rng)),
  };
}
