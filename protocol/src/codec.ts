import { Decoder, Encoder } from "@msgpack/msgpack";
import { ErrorCode, RegioError } from "./errors.ts";
import { MessageType, type Message, type MessageOf } from "./messages.ts";
import {
  decodeSessionRow,
  encodeSessionData,
  encodeSessionRow,
  isSessionDataType,
  sessionDataMessage,
} from "./session-frames.ts";

/**
 * Frames are MessagePack arrays `[type, field1, field2, ...]` in the order MESSAGE_FIELDS gives.
 * Absent optional fields are nil; trailing nils are dropped. Decoding validates every field, so a
 * peer never acts on a malformed message: it gets a RegioError(BAD_FRAME) instead.
 */

type Kind =
  | "str"
  | "int"
  | "bool"
  | "any"
  | "payload"
  | "payload[]"
  | "session-pairs"
  | "str[]"
  | "any[]"
  | "trace"
  | "handshake"
  | "target"
  | "snapshot"
  | "snapshot[]"
  | "nodes"
  | "limits"
  | "recovery"
  | "restored";

/** A field: its name, its kind, and whether it may be absent. */
type Field<T extends MessageType> = readonly [Exclude<keyof MessageOf<T>, "type">, Kind, "optional"?];

type Schema = { readonly [T in MessageType]: readonly Field<T>[] };

const O = "optional" as const;

export const MESSAGE_FIELDS: Schema = {
  [MessageType.Hello]: [
    ["nodeId", "str"],
    ["region", "str"],
    ["nodes", "nodes"],
    ["limits", "limits", O],
  ],
  [MessageType.Ready]: [
    ["stream", "str"],
    ["lastSeq", "int", O],
  ],
  [MessageType.SessionOpen]: [
    ["sessionId", "str"],
    ["handshake", "handshake"],
  ],
  [MessageType.SessionMessage]: [
    ["sessionId", "str"],
    ["data", "payload"],
    ["trace", "trace", O],
  ],
  [MessageType.SessionMessages]: [["messages", "session-pairs"]],
  [MessageType.SessionClosed]: [
    ["sessionId", "str"],
    ["reason", "str"],
    ["description", "str", O],
  ],
  [MessageType.SessionUpgraded]: [
    ["sessionId", "str"],
    ["transport", "str"],
  ],
  [MessageType.SessionSend]: [
    ["sessionId", "str"],
    ["data", "payload[]"],
    ["flags", "int"],
    ["trace", "trace", O],
    ["after", "int", O],
  ],
  [MessageType.SessionClose]: [["sessionId", "str"]],
  [MessageType.Join]: [
    ["sessionId", "str"],
    ["nsp", "str"],
    ["sid", "str"],
    ["rooms", "str[]"],
    ["snapshot", "snapshot", O],
    ["recovery", "recovery", O],
  ],
  [MessageType.Leave]: [
    ["nsp", "str"],
    ["sid", "str"],
    ["rooms", "str[]"],
  ],
  [MessageType.LeaveAll]: [
    ["nsp", "str"],
    ["sid", "str"],
  ],
  [MessageType.SocketData]: [
    ["nsp", "str"],
    ["sid", "str"],
    ["data", "any", O],
  ],
  [MessageType.Broadcast]: [
    ["seq", "int"],
    ["target", "target"],
    ["packet", "payload[]"],
    ["flags", "int"],
    ["trace", "trace", O],
  ],
  [MessageType.BroadcastWithAck]: [
    ["seq", "int"],
    ["requestId", "int"],
    ["target", "target"],
    ["packet", "payload[]"],
    ["ackId", "int"],
    ["flags", "int"],
    ["timeoutMs", "int"],
    ["trace", "trace", O],
  ],
  [MessageType.SocketsJoin]: [
    ["seq", "int"],
    ["target", "target"],
    ["rooms", "str[]"],
    ["trace", "trace", O],
  ],
  [MessageType.SocketsLeave]: [
    ["seq", "int"],
    ["target", "target"],
    ["rooms", "str[]"],
    ["trace", "trace", O],
  ],
  [MessageType.DisconnectSockets]: [
    ["seq", "int"],
    ["target", "target"],
    ["close", "bool"],
    ["trace", "trace", O],
  ],
  [MessageType.ServerSideEmit]: [
    ["seq", "int"],
    ["nsp", "str"],
    ["args", "any[]"],
    ["requestId", "int", O],
    ["timeoutMs", "int", O],
    ["trace", "trace", O],
  ],
  [MessageType.FetchSockets]: [
    ["requestId", "int"],
    ["target", "target"],
  ],
  [MessageType.ServerCount]: [["requestId", "int"]],
  [MessageType.ServerSideEmitResponse]: [
    ["requestId", "int"],
    ["response", "any"],
  ],
  [MessageType.RestoreSession]: [
    ["requestId", "int"],
    ["sessionId", "str"],
    ["nsp", "str"],
    ["pid", "str"],
    ["offset", "str"],
    ["windowMs", "int"],
  ],
  [MessageType.OpAck]: [["seq", "int"]],
  [MessageType.FetchSocketsResult]: [
    ["requestId", "int"],
    ["sockets", "snapshot[]"],
  ],
  [MessageType.ServerCountResult]: [
    ["requestId", "int"],
    ["count", "int"],
  ],
  [MessageType.BroadcastAckCount]: [
    ["requestId", "int"],
    ["clientCount", "int"],
  ],
  [MessageType.BroadcastAck]: [
    ["requestId", "int"],
    ["packet", "payload[]"],
  ],
  [MessageType.ServerSideEmitDeliver]: [
    ["nsp", "str"],
    ["args", "any[]"],
    ["requestId", "int", O],
    ["trace", "trace", O],
  ],
  [MessageType.ServerSideEmitResult]: [
    ["requestId", "int"],
    ["responses", "any[]"],
    ["complete", "bool"],
  ],
  [MessageType.ApplyToSockets]: [
    ["nsp", "str"],
    ["sids", "str[]"],
    ["action", "int"],
    ["rooms", "str[]"],
    ["trace", "trace", O],
  ],
  [MessageType.RestoreSessionResult]: [
    ["requestId", "int"],
    ["socket", "restored", O],
  ],
  [MessageType.Draining]: [],
  [MessageType.Error]: [
    ["code", "str"],
    ["message", "str"],
    ["retriable", "bool"],
    ["seq", "int", O],
    ["requestId", "int", O],
  ],
};

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(MessageType));

// Encoder/Decoder instances reuse their buffers; the protocol is synchronous, so sharing is safe.
const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

/** Kinds whose values are the app's own (arguments, responses, socket.data, auth): see refuseProtoKeys. */
const APP_VALUE_KINDS: ReadonlySet<Kind> = new Set<Kind>(["any", "any[]", "snapshot", "snapshot[]"]);
/** The encoder's own depth limit (@msgpack/msgpack's default): deeper, it refuses by itself. */
const MAX_ENCODE_DEPTH = 100;

export function encodeMessage(message: Message): Uint8Array {
  // Client session data, the bulk of a link's frames, straight from its fields (same bytes).
  const direct = encodeSessionData(message);
  if (direct) return direct;
  const fields = MESSAGE_FIELDS[message.type] as readonly Field<MessageType>[];
  const record = message as unknown as Record<string, unknown>;
  const row: unknown[] = [message.type];
  for (const [name, kind] of fields) {
    const value = record[name as string] ?? null;
    if (APP_VALUE_KINDS.has(kind)) refuseProtoKeys(value, name as string, 0);
    row.push(value);
  }
  while (row.length > 1 && row[row.length - 1] === null) row.pop();
  // Client session data, the bulk of a link's frames, is written natively (same bytes).
  return (isSessionDataType(message.type) && encodeSessionRow(row)) || encoder.encode(row);
}

export function decodeMessage(frame: Uint8Array): Message {
  // Client session data, the bulk of a link's frames, is read natively; anything else, or anything
  // that reader does not take, by the general decoder. Both rows are validated below.
  let row: unknown = decodeSessionRow(frame);
  if (row !== undefined) {
    const message = sessionDataMessage(row as unknown[]);
    if (message) return message;
  } else {
    try {
      row = decoder.decode(frame);
    } catch (cause) {
      throw badFrame("frame is not valid MessagePack", cause);
    }
  }
  if (!Array.isArray(row) || row.length === 0) throw badFrame("frame is not a non-empty array");
  const type = row[0];
  if (typeof type !== "number" || !KNOWN_TYPES.has(type))
    throw badFrame(`unknown message type ${String(type)}`);
  const fields = MESSAGE_FIELDS[type as MessageType] as readonly Field<MessageType>[];
  if (row.length - 1 > fields.length) throw badFrame(`message type ${type} has too many fields`);
  const message: Record<string, unknown> = { type };
  fields.forEach(([name, kind, optional], i) => {
    const value = row[i + 1];
    if (value === undefined || value === null) {
      if (optional) return;
      throw badFrame(`message type ${type}: field ${String(name)} is missing`);
    }
    if (!isKind(kind, value))
      throw badFrame(`message type ${type}: field ${String(name)} is not a valid ${kind}`);
    message[name as string] = value;
  });
  return message as unknown as Message;
}

/**
 * The decoder refuses a map key "__proto__" (it guards against prototype pollution), and JSON.parse
 * makes one an own key of an object a client sends (`{"__proto__": ...}`). An app that passes such
 * a value on (a serverSideEmit of what a client sent) would send a frame its peer cannot read: the
 * node answered BAD_FRAME without a seq, and the SDK re-sent the operation forever. It is refused
 * here, where the sender can say why (a typed error at the app's emit).
 */
function refuseProtoKeys(value: unknown, field: string, depth: number): void {
  if (typeof value !== "object" || value === null || depth > MAX_ENCODE_DEPTH || ArrayBuffer.isView(value))
    return;
  if (Array.isArray(value)) {
    for (const item of value) refuseProtoKeys(item, field, depth + 1);
    return;
  }
  if (Object.hasOwn(value, "__proto__"))
    throw badFrame(`field ${field} holds a key "__proto__", which no peer's decoder accepts`);
  for (const item of Object.values(value)) refuseProtoKeys(item, field, depth + 1);
}

function badFrame(message: string, cause?: unknown): RegioError {
  return new RegioError(ErrorCode.BadFrame, message, { cause });
}

const isStr = (v: unknown): v is string => typeof v === "string";
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isArrayOf = (v: unknown, item: (x: unknown) => boolean): boolean => Array.isArray(v) && v.every(item);
const isPayload = (v: unknown): boolean => typeof v === "string" || v instanceof Uint8Array;
const isHeaders = (v: unknown): boolean =>
  isObj(v) && Object.values(v).every((h) => isStr(h) || isArrayOf(h, isStr));

function isKind(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case "str":
      return isStr(v);
    case "int":
      return Number.isSafeInteger(v);
    case "bool":
      return typeof v === "boolean";
    case "any":
      return true;
    case "payload":
      return isPayload(v);
    case "payload[]":
      return isArrayOf(v, isPayload) && (v as unknown[]).length > 0;
    case "session-pairs":
      return (
        Array.isArray(v) &&
        v.length >= 2 &&
        v.length % 2 === 0 &&
        v.every((item, i) => (i % 2 === 0 ? isStr(item) : isPayload(item)))
      );
    case "str[]":
      return isArrayOf(v, isStr);
    case "any[]":
      return Array.isArray(v);
    case "trace":
      return isObj(v) && isStr(v.traceparent) && (v.tracestate === undefined || isStr(v.tracestate));
    case "handshake":
      return (
        isObj(v) &&
        isStr(v.url) &&
        isHeaders(v.headers) &&
        isStr(v.remoteAddress) &&
        typeof v.secure === "boolean" &&
        isStr(v.transport) &&
        Number.isSafeInteger(v.protocol)
      );
    case "target":
      return (
        isObj(v) &&
        isStr(v.nsp) &&
        isArrayOf(v.rooms, isStr) &&
        isArrayOf(v.except, isStr) &&
        (v.local === undefined || typeof v.local === "boolean")
      );
    case "snapshot":
      return isSnapshot(v);
    case "snapshot[]":
      return isArrayOf(v, isSnapshot);
    case "nodes":
      return isArrayOf(v, (n) => isObj(n) && isStr(n.nodeId) && isStr(n.url) && isStr(n.region));
    case "recovery":
      return isObj(v) && isStr(v.pid) && Number.isSafeInteger(v.windowMs);
    case "restored":
      return isObj(v) && isStr(v.sid) && isArrayOf(v.rooms, isStr);
    case "limits":
      return isObj(v) && Number.isSafeInteger(v.maxOperationBytes) && (v.maxOperationBytes as number) > 0;
  }
}

function isSnapshot(v: unknown): boolean {
  return (
    isObj(v) &&
    isStr(v.id) &&
    isObj(v.handshake) &&
    isHeaders(v.handshake.headers) &&
    isArrayOf(v.rooms, isStr)
  );
}
