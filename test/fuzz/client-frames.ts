import type { Prng } from "./prng.ts";
import { extremeNumber, extremeString, jsonText, randomValue } from "./extreme-values.ts";

/**
 * Client frames: Engine.IO v4 packets as a client writes them (one per WebSocket frame, or joined by
 * \x1e in a polling POST), most of them carrying Socket.IO v5 packets for the app's handlers, with
 * extreme arguments; some malformed at either layer. A malformed one usually makes the node or the
 * app's socket.io close the session: the driver reconnects, so those are kept to a few per cent.
 */

export type EnginePacket = { kind: "text"; data: string } | { kind: "binary"; data: Uint8Array };

/** What a client session knows of itself: it shapes the next frames (events go where it is connected). */
export interface ClientSessionState {
  /** Namespaces whose CONNECT the app confirmed. */
  connected: Set<string>;
  /** Namespaces with a CONNECT on the way: no events for them until it is confirmed. */
  connecting: Set<string>;
  /** Acks the server asked this client for (broadcasts with ack): answered now and then. */
  owedAcks: Array<{ nsp: string; id: number }>;
  /**
   * It sent a DISCONNECT from "/": its last packet (a client that left). socket.io closes a session
   * that joins a namespace again before it handled the leave, which a client cannot know.
   */
  left: boolean;
}

export function newClientSessionState(): ClientSessionState {
  return { connected: new Set(), connecting: new Set(), owedAcks: [], left: false };
}

/** Rooms clients join and talk to: a small pool, so that joins, broadcasts and acks meet. */
export const ROOM_POOL = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"];

/**
 * Headers of a session's handshake request, for the app's engine middlewares: a session cookie
 * (forged, long, or malformed), now and then one the app refuses (x-banned), odd user agents.
 */
export function handshakeHeaders(rng: Prng): Record<string, string> {
  const headers: Record<string, string> = {};
  if (rng.chance(0.3)) {
    headers.cookie = rng.pick([
      `connect.sid=s%3A${ascii(rng, rng.size(64))}.${ascii(rng, 43)}`,
      `connect.sid=${"x".repeat(rng.size(4000))}`,
      ";;;=",
      "a=b; connect.sid=s%3Aabc.def; connect.sid=%zz",
      ascii(rng, rng.size(256)),
    ]);
  }
  if (rng.chance(0.03)) headers["x-banned"] = "1";
  if (rng.chance(0.1)) headers["user-agent"] = ascii(rng, rng.size(1024));
  return headers;
}

/** Printable ASCII: what an HTTP header value may hold. */
function ascii(rng: Prng, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) text += String.fromCharCode(0x20 + Math.floor(rng.next() * 95));
  return text;
}

/** The bytes a frame carries: text is measured as UTF-8, as the transport sends it. */
export function packetBytes(packet: EnginePacket): number {
  return packet.kind === "text" ? Buffer.byteLength(packet.data) : packet.data.byteLength;
}

/** The rare large packets: how large, how rare. */
export interface ClientFrameOptions {
  /** The size large packets are drawn around: from 90 % to 105 % of it (the node's maxHttpBufferSize). */
  largeBytes: number;
  /** Chance of a large packet instead of an ordinary one. */
  largeChance: number;
}

export const DEFAULT_CLIENT_FRAME_OPTIONS: ClientFrameOptions = {
  largeBytes: 1_000_000,
  largeChance: 0.0002,
};

/** The next packets one client sends: usually one, several for a binary packet and its attachments. */
export function nextClientPackets(
  rng: Prng,
  state: ClientSessionState,
  options: ClientFrameOptions = DEFAULT_CLIENT_FRAME_OPTIONS,
): EnginePacket[] {
  const json = () => jsonText(rng);
  const nsp = pickConnected(rng, state);
  // Every session joins "/" first; its events wait for the answer (see the drivers).
  if (!nsp) return [message(connectPacket(rng, state, "/", json))];
  return rng.weighted<() => EnginePacket[]>([
    [55, () => [message(eventPacket(rng, nsp, json))]],
    [8, () => [message(ackPacket(rng, state, nsp, json))]],
    [6, () => binaryPacket(rng, state, nsp, json)],
    [3, () => [message(connectPacket(rng, state, otherNamespace(rng, state), json))]],
    [3, () => [text(rng.pick(["3", "6", "5", "3probe"]))]],
    [0.3, () => [message(disconnectPacket(rng, state))]],
    // Near the node's limit on either side (past it, the node closes the session).
    [100 * options.largeChance, () => [message(largeEvent(rng, nsp, options.largeBytes))]],
    // What ends the session (the node or socket.io closes it): a few per cent.
    [2.5, () => killer(rng, nsp, json)],
  ])();
}

/** Reads what the server sent, to learn confirmed namespaces and the acks it waits for. */
export function observeServerText(state: ClientSessionState, frame: string): void {
  if (frame[0] !== "4") return; // Engine.IO message
  const type = frame[1];
  let i = 2;
  let nsp = "/";
  if (frame[i] === "/") {
    const comma = frame.indexOf(",", i);
    if (comma < 0) return;
    nsp = frame.slice(i, comma);
    i = comma + 1;
  }
  if (type === "0") {
    state.connecting.delete(nsp);
    state.connected.add(nsp);
  } else if (type === "1" || type === "4") {
    state.connecting.delete(nsp);
    state.connected.delete(nsp);
  } else if (type === "2") {
    const start = i;
    while (frame.charCodeAt(i) >= 48 && frame.charCodeAt(i) <= 57) i++;
    if (i > start && state.owedAcks.length < 64)
      state.owedAcks.push({ nsp, id: Number(frame.slice(start, i)) });
  }
}

const text = (data: string): EnginePacket => ({ kind: "text", data });
/** Engine.IO "message" (4) around a Socket.IO packet. */
const message = (packet: string): EnginePacket => text("4" + packet);
const prefix = (nsp: string): string => (nsp === "/" ? "" : `${nsp},`);

function pickConnected(rng: Prng, state: ClientSessionState): string | undefined {
  if (!state.connected.has("/") && !state.connecting.has("/")) return undefined;
  const usable = [...state.connected];
  return usable.length === 0 ? undefined : rng.pick(usable);
}

function otherNamespace(rng: Prng, state: ClientSessionState): string {
  const free = (nsp: string) => !state.connected.has(nsp) && !state.connecting.has(nsp);
  const candidates = ["/fuzz", `/${extremeString(rng, 32).replace(/,/g, "")}`, "/nope"].filter(free);
  return candidates.length > 0 ? rng.pick(candidates) : "/nope" + rng.int(0, 1e6);
}

function room(rng: Prng): string {
  return rng.chance(0.85) ? rng.pick(ROOM_POOL) : extremeString(rng, 128);
}

function roomList(rng: Prng): string {
  const count = rng.chance(0.995) ? rng.size(16) : rng.size(20_000);
  return JSON.stringify(Array.from({ length: count }, () => room(rng)));
}

function ackId(rng: Prng): string {
  return rng.weighted<() => string>([
    [10, () => String(rng.int(0, 1000))],
    [1, () => String(rng.int(0, 2 ** 53 - 1))],
    [1, () => "123456789012345678901234567890"],
  ])();
}

/** An EVENT (2) for one of the app's handlers, or any event name, with extreme arguments. */
function eventPacket(rng: Prng, nsp: string, json: () => string): string {
  const withAck = rng.chance(0.6);
  const id = withAck ? ackId(rng) : "";
  const args = rng.weighted<() => string[]>([
    [4, () => ['"echo"', json()]],
    [2, () => ['"join"', rng.chance(0.5) ? JSON.stringify(room(rng)) : roomList(rng)]],
    [1, () => ['"leave"', JSON.stringify(room(rng))]],
    [2, () => ['"set-data"', json()]],
    [3, () => ['"tell"', JSON.stringify(room(rng)), json()]],
    [1, () => ['"who"', JSON.stringify(room(rng))]],
    [2, () => ['"ask"', JSON.stringify(room(rng)), json()]],
    [1, () => ['"server-side"', json()]],
    [2, () => [JSON.stringify(extremeString(rng)), ...Array.from({ length: rng.size(4) }, json)]],
    [1, () => [json(), json()]],
  ])();
  return `2${prefix(nsp)}${id}[${args.join(",")}]`;
}

/**
 * An ACK (3): for an ack the server asked for, or for none; its body now and then not an array
 * (socket.io refuses it; the node only reads an ack's header, so the body travels on as it is).
 */
function ackPacket(rng: Prng, state: ClientSessionState, nsp: string, json: () => string): string {
  const owed = rng.chance(0.7) ? state.owedAcks.shift() : undefined;
  const target = owed ?? { nsp, id: ackId(rng) };
  const body = rng.chance(0.9)
    ? `[${Array.from({ length: rng.size(3) }, json).join(",")}]`
    : rng.pick(["", "{}", '"x"', "[", "1", "null", "]", json()]);
  return `3${prefix(target.nsp)}${target.id}${body}`;
}

/** BINARY_EVENT (5) or BINARY_ACK (6) with 1 to 10 attachments (socket.io's limit), as binary frames. */
function binaryPacket(rng: Prng, state: ClientSessionState, nsp: string, json: () => string): EnginePacket[] {
  const count = rng.chance(0.9) ? rng.int(1, 3) : rng.int(4, 10);
  const placeholders = Array.from({ length: count }, (_, num) => `{"_placeholder":true,"num":${num}}`);
  const attachments = Array.from(
    { length: count },
    () => ({ kind: "binary", data: rng.bytes(rng.size(2048)) }) as const,
  );
  if (rng.chance(0.5)) {
    const owed = rng.chance(0.6) ? state.owedAcks.shift() : undefined;
    const target = owed ?? { nsp, id: ackId(rng) };
    return [
      message(`6${count}-${prefix(target.nsp)}${target.id}[${placeholders.join(",")}]`),
      ...attachments,
    ];
  }
  const id = rng.chance(0.5) ? ackId(rng) : "";
  return [
    message(`5${count}-${prefix(nsp)}${id}["echo",${placeholders.join(",")},${json()}]`),
    ...attachments,
  ];
}

/** An echo of a string of 90 % to 105 % of `limit` bytes. */
function largeEvent(rng: Prng, nsp: string, limit: number): string {
  const length = rng.int(Math.floor(limit * 0.9), Math.floor(limit * 1.05));
  return `2${prefix(nsp)}["echo","${"x".repeat(length)}"]`;
}

/** CONNECT (0) with an extreme `auth`: deep, large, or of an odd type. */
function connectPacket(rng: Prng, state: ClientSessionState, nsp: string, json: () => string): string {
  state.connecting.add(nsp);
  const auth = rng.weighted<() => string>([
    [4, () => ""],
    [4, () => JSON.stringify(randomValue(rng, 3, 4) ?? {}).replace(/^[^{].*$/s, "{}")],
    [2, () => `{"token":${json()}}`],
    [1, () => `{"a":${json()},"b":${json()}}`],
  ])();
  return `0${prefix(nsp)}${auth}`;
}

/** DISCONNECT (1) from a namespace it joined; from "/" now and then, as its last packet. */
function disconnectPacket(rng: Prng, state: ClientSessionState): string {
  const others = [...state.connected].filter((nsp) => nsp !== "/");
  const nsp = others.length > 0 && rng.chance(0.7) ? rng.pick(others) : "/";
  state.connected.delete(nsp);
  if (nsp === "/") state.left = true;
  return `1${prefix(nsp)}`;
}

/** A packet after which the session is usually closed by the node or by the app's socket.io. */
function killer(rng: Prng, nsp: string, json: () => string): EnginePacket[] {
  return rng.weighted<() => EnginePacket[]>([
    [3, () => [message(rng.pick(["", "7", "9x", "2", "2{}", '2"x"', "2[", "0[]", "0/fuzz,42", "4{}", "x"]))]],
    [2, () => [text(rng.pick(["", "7", "9", "x", "2", "2probe", "1", "0", "4" + "\u0000".repeat(3)]))]],
    [2, () => [{ kind: "binary", data: rng.bytes(rng.size(512)) }]],
    [1, () => [message(`5${rng.int(11, 1e9)}-${prefix(nsp)}["echo"]`)]],
    [1, () => [message(`6${rng.int(11, 1e9)}-${prefix(nsp)}1[]`)]],
    // Announces attachments and sends text instead.
    [
      1,
      () => [
        message(`5${rng.int(1, 10)}-${prefix(nsp)}["echo",{"_placeholder":true,"num":0}]`),
        message("2[]"),
      ],
    ],
    // Placeholders that point past the attachments.
    [
      1,
      () => [
        message(`51-${prefix(nsp)}["echo",{"_placeholder":true,"num":${rng.int(1, 1e9)}}]`),
        { kind: "binary", data: rng.bytes(4) },
      ],
    ],
    [1, () => [message(`0${prefix(nsp)}${rng.pick(["[]", '"x"', "1", "null", json()])}`)]],
    [1, () => [message(`2/never-connected${rng.int(0, 9)},["echo",1]`)]],
    [1, () => [message(`4${prefix(nsp)}{"message":"x"}`)]],
    [1, () => [message(`${rng.int(0, 6)}${extremeString(rng, 64)}`)]],
    [0.5, () => [message(`2${prefix(nsp)}${extremeNumber(rng)}["echo"]`)]],
  ])();
}
