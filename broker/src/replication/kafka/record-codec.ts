import { decode, encode } from "@msgpack/msgpack";
import {
  decodeMessage,
  encodeMessage,
  NodeId,
  SessionId,
  SocketId,
  StreamId,
  type TraceContext,
} from "@regio/protocol";
import type {
  MembershipRecord,
  NodeHeartbeat,
  ReplicatedOperation,
  ReplicatedRecord,
} from "../replicator.ts";

/**
 * Kafka record layouts. Events: key = app server id (one app server's records share a partition,
 * so they stay in order), headers = origin, sequence and W3C trace context, value = the operation as
 * the app-link codec frames it (the packet inside is the bytes the SDK encoded; no node re-encodes
 * it). Membership and node records are keyed per socket / per node on compacted topics; a null
 * value (tombstone) means "gone".
 */
export interface KafkaMessage {
  key: Buffer;
  value: Buffer | null;
  headers?: Record<string, Buffer | string>;
}

const H = {
  hub: "regio-hub",
  region: "regio-origin-region",
  node: "regio-origin-node",
  stream: "regio-stream",
  seq: "regio-seq",
  incarnation: "regio-incarnation",
  at: "regio-at",
  traceparent: "traceparent",
  tracestate: "tracestate",
} as const;

/**
 * `trace` is the context of the writer's own span for the record (its "create" span), which
 * receivers continue; default: the record's. The operation's own `trace` (the app server's) is not
 * kept in the value: the headers are where Kafka tooling and every reader look for it.
 */
export function encodeEvent(record: ReplicatedRecord, trace = record.trace): KafkaMessage {
  const headers: Record<string, string> = {
    [H.hub]: record.hub,
    [H.region]: record.origin.region,
    [H.node]: record.origin.nodeId,
    [H.stream]: record.stream,
    [H.seq]: String(record.seq),
  };
  if (trace) {
    headers[H.traceparent] = trace.traceparent;
    if (trace.tracestate) headers[H.tracestate] = trace.tracestate;
  }
  const operation = record.operation.trace ? { ...record.operation, trace: undefined } : record.operation;
  return {
    key: Buffer.from(record.stream),
    value: Buffer.from(encodeMessage(operation)),
    headers,
  };
}

type Headers = Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined;

function header(headers: Headers, name: string): string | undefined {
  const value = headers?.[name];
  const one = Array.isArray(value) ? value[0] : value;
  return one === undefined ? undefined : one.toString();
}

/** Undefined when the record is not a Regio event (a stranger on the topic is skipped, not fatal). */
export function decodeEvent(value: Buffer | null, headers: Headers): ReplicatedRecord | undefined {
  const hub = header(headers, H.hub);
  const region = header(headers, H.region);
  const nodeId = header(headers, H.node);
  const stream = header(headers, H.stream);
  const seq = Number(header(headers, H.seq));
  if (!value || !hub || !region || !nodeId || !stream || !Number.isSafeInteger(seq)) return undefined;
  // A plain Uint8Array view: the decoded packet parts are then plain byte arrays, not Buffer slices.
  const operation = decodeMessage(
    new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
  ) as ReplicatedOperation;
  const record: ReplicatedRecord = {
    hub,
    origin: { region, nodeId: NodeId(nodeId) },
    stream: StreamId(stream),
    seq,
    operation,
  };
  const trace = traceOf(headers);
  if (trace) record.trace = trace;
  return record;
}

/** The W3C trace context in a record's headers (checked when it is used: see spanContextOf). */
function traceOf(headers: Headers): TraceContext | undefined {
  const traceparent = header(headers, H.traceparent);
  if (!traceparent) return undefined;
  const tracestate = header(headers, H.tracestate);
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

export function membershipKey(hub: string, nsp: string, sid: string): Buffer {
  return Buffer.from(`${hub}\u0000${nsp}\u0000${sid}`);
}

export function encodeMembership(record: MembershipRecord): KafkaMessage {
  return {
    key: membershipKey(record.hub, record.nsp, record.sid),
    value: record.snapshot ? Buffer.from(encode(record, { ignoreUndefined: true })) : null,
    // A tombstone has no value: the header still says whose it is (the one-hop rule needs it).
    headers: { [H.region]: record.owner.region, [H.node]: record.owner.nodeId },
  };
}

export function decodeMembership(
  key: Buffer | null,
  value: Buffer | null,
  headers?: Headers,
): MembershipRecord | undefined {
  if (!key) return undefined;
  if (value) return checked(decode(value), isMembership);
  const [hub, nsp, sid] = key.toString().split("\u0000");
  if (!hub || !nsp || !sid) return undefined;
  const owner = {
    region: header(headers, H.region) ?? "",
    nodeId: NodeId(header(headers, H.node) ?? ""),
    incarnation: "",
    sessionId: SessionId(""),
    linkId: "",
  };
  return { hub, nsp, sid: SocketId(sid), owner, rooms: [], snapshot: undefined };
}

export function encodeHeartbeat(heartbeat: NodeHeartbeat): KafkaMessage {
  if (!heartbeat.leaving) {
    return {
      key: Buffer.from(heartbeat.nodeId),
      value: Buffer.from(encode(heartbeat, { ignoreUndefined: true })),
    };
  }
  // A goodbye is a tombstone (the compacted topic then forgets the node); its headers say which
  // start of the node is leaving, so that a replayed goodbye of an earlier start removes nothing.
  return {
    key: Buffer.from(heartbeat.nodeId),
    value: null,
    headers: {
      [H.region]: heartbeat.region,
      [H.incarnation]: heartbeat.incarnation,
      [H.at]: String(heartbeat.at),
    },
  };
}

export function decodeHeartbeat(
  key: Buffer | null,
  value: Buffer | null,
  headers?: Headers,
): NodeHeartbeat | undefined {
  if (!key) return undefined;
  if (value) return checked(decode(value), isHeartbeat);
  const incarnation = header(headers, H.incarnation);
  const at = Number(header(headers, H.at));
  if (!incarnation || !Number.isSafeInteger(at)) return undefined;
  return {
    nodeId: NodeId(key.toString()),
    incarnation,
    region: header(headers, H.region) ?? "",
    url: "",
    appServers: {},
    sessions: 0,
    at,
    leaving: true,
  };
}

/** Bytes a message holds, for the bounded buffer. */
export function sizeOf(message: KafkaMessage): number {
  let bytes = message.key.length + (message.value?.length ?? 0);
  for (const [name, value] of Object.entries(message.headers ?? {})) bytes += name.length + value.length;
  return bytes;
}

// Records come from a shared log anyone with access can write: a value of the wrong shape is
// skipped (undefined), never applied to the view half-way.
const isStr = (v: unknown): v is string => typeof v === "string";
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function checked<T>(value: unknown, guard: (v: unknown) => v is T): T | undefined {
  return guard(value) ? value : undefined;
}

function isMembership(v: unknown): v is MembershipRecord {
  if (!isObj(v) || !isStr(v.hub) || !isStr(v.nsp) || !isStr(v.sid)) return false;
  const owner = v.owner;
  if (
    !isObj(owner) ||
    ![owner.region, owner.nodeId, owner.incarnation, owner.sessionId, owner.linkId].every(isStr)
  ) {
    return false;
  }
  const { snapshot, recovery, disconnectedAt } = v;
  return (
    Array.isArray(v.rooms) &&
    v.rooms.every(isStr) &&
    (snapshot === undefined || (isObj(snapshot) && isStr(snapshot.id) && isObj(snapshot.handshake))) &&
    (recovery === undefined ||
      (isObj(recovery) && isStr(recovery.pid) && Number.isSafeInteger(recovery.windowMs))) &&
    (disconnectedAt === undefined || Number.isSafeInteger(disconnectedAt))
  );
}

function isHeartbeat(v: unknown): v is NodeHeartbeat {
  return (
    isObj(v) &&
    [v.nodeId, v.incarnation, v.region, v.url].every(isStr) &&
    typeof v.at === "number" &&
    typeof v.sessions === "number" &&
    isObj(v.appServers) &&
    Object.values(v.appServers).every((ids) => Array.isArray(ids) && ids.every(isStr))
  );
}
