import { MESSAGE_FIELDS, MessageType } from "@regio/protocol";
import type { Prng } from "./prng.ts";
import { deepRaw, encodeRaw, RawMsgpack, type RawValue } from "./raw-msgpack.ts";
import { extremeDepth, extremeNumber, extremeString, randomValue } from "./extreme-values.ts";

/**
 * App-link frames in general, for both directions: a message of any type with every field drawn
 * by its kind (docs/protocol.md; the schema is the codec's own MESSAGE_FIELDS), at the edges of what
 * the kind allows; and frames that break the schema or the encoding. The direction-specific
 * generators (app-link-frames.ts at the node, node-frames.ts at the app server) say which values
 * their context knows (sessions, sockets, request ids) through `overrides`.
 */

export type Kind = (typeof MESSAGE_FIELDS)[MessageType][number][1];

/** One frame as a WebSocket message: binary (as the protocol wants) or text (which it refuses). */
export interface LinkFrame {
  data: Uint8Array | string;
  /** The message type it claims, for the counts (undefined for garbage). */
  type: number | undefined;
}

/** Field values a generator's context knows better than chance, by field name; undefined: draw one. */
export type Overrides = Partial<Record<string, () => RawValue>>;

const ALL_TYPES: readonly MessageType[] = Object.values(MessageType);

/** A schema-valid message of `type` (every field of its kind), as a frame. */
export function wellFormed(rng: Prng, type: MessageType, overrides: Overrides = {}): LinkFrame {
  return { data: encodeRaw(wellFormedRow(rng, type, overrides)), type };
}

function wellFormedRow(rng: Prng, type: MessageType, overrides: Overrides = {}): RawValue[] {
  const row: RawValue[] = [type];
  for (const [name, kind, optional] of MESSAGE_FIELDS[type]) {
    const override = overrides[name as string];
    if (optional && rng.chance(0.3)) row.push(null);
    else row.push(override ? override() : fieldValue(rng, kind));
  }
  while (row.length > 1 && row[row.length - 1] === null) row.pop();
  return row;
}

/** A frame that breaks the schema or the encoding in one of many ways. */
export function malformed(rng: Prng, types: readonly MessageType[] = ALL_TYPES): LinkFrame {
  const type = rng.pick(types);
  const row = wellFormedRow(rng, type);
  const frame = (data: Uint8Array | string, claimed: number | undefined = type): LinkFrame => ({
    data,
    type: claimed,
  });
  return rng.weighted<() => LinkFrame>([
    // One field of the wrong kind.
    [
      6,
      () => {
        const i = rng.int(1, Math.max(1, row.length - 1));
        row[i] = wrongValue(rng);
        return frame(encodeRaw(row));
      },
    ],
    // A required field missing.
    [3, () => frame(encodeRaw(row.slice(0, rng.int(1, Math.max(1, row.length - 1)))))],
    // Fields past the schema.
    [2, () => frame(encodeRaw([...row, ...Array.from({ length: rng.int(1, 4) }, () => wrongValue(rng))]))],
    // A type that is not one.
    [
      2,
      () => {
        const claimed = rng.pick<RawValue>([0, 3, 99, -1, 2 ** 53, 1.5, "40", null, true]);
        return frame(encodeRaw([claimed, ...row.slice(1)]), undefined);
      },
    ],
    // Not an array, or an empty one.
    [1, () => frame(encodeRaw(rng.pick<RawValue>([[], {}, "hello", 42, null, { type }])), undefined)],
    // Random bytes.
    [2, () => frame(rng.bytes(rng.size(256)), undefined)],
    // A valid frame cut short, or with bytes after it.
    [
      2,
      () => {
        const bytes = encodeRaw(row);
        return rng.chance(0.5)
          ? frame(bytes.subarray(0, rng.int(0, Math.max(0, bytes.length - 1))))
          : frame(concatBytes(bytes, rng.bytes(rng.int(1, 8))));
      },
    ],
    // Text frames: the protocol's frames are binary.
    [1, () => frame(rng.chance(0.5) ? JSON.stringify(row.map(plain)) : extremeString(rng, 512), undefined)],
    // Lengths that promise more than the frame holds (array32, map32, str32, bin32).
    [
      1,
      () =>
        frame(
          rng.pick([
            Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01),
            Uint8Array.of(0xdf, 0xff, 0xff, 0xff, 0xff),
            Uint8Array.of(0x92, 0x0b, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61),
            Uint8Array.of(0x92, 0x0b, 0xc6, 0xff, 0xff, 0xff, 0xff),
          ]),
          undefined,
        ),
    ],
    // Keys the decoder refuses (__proto__) or that are not strings; extension types.
    [
      1,
      () =>
        frame(
          rng.pick([
            Uint8Array.of(0x92, 0x21, 0x81, 0xa9, ...Buffer.from("__proto__"), 0xc0),
            Uint8Array.of(0x92, 0x21, 0x81, 0x80, 0xc0),
            Uint8Array.of(0x92, 0x21, 0xd4, 0x05, 0x00),
            Uint8Array.of(0x92, 0x21, 0xc7, 0x03, 0x7f, 1, 2, 3),
          ]),
          undefined,
        ),
    ],
  ])();
}

/** A value of `kind`, somewhere on the range the kind allows. */
export function fieldValue(rng: Prng, kind: Kind): RawValue {
  switch (kind) {
    case "str":
      return rng.chance(0.0005) ? "s".repeat(rng.int(10_000, 200_000)) : extremeString(rng, 256);
    case "int":
      return extremeInt(rng);
    case "bool":
      return rng.chance(0.5);
    case "any":
      return anyValue(rng);
    case "payload":
      return payload(rng);
    case "payload[]":
      return Array.from({ length: Math.max(1, rng.chance(0.003) ? rng.size(1000) : rng.size(4)) }, () =>
        payload(rng),
      );
    case "str[]":
      return stringList(rng);
    case "any[]":
      return Array.from({ length: rng.size(6) }, () => anyValue(rng));
    case "trace":
      return rng.chance(0.7)
        ? { traceparent: extremeString(rng, 128) }
        : { traceparent: extremeString(rng, 128), tracestate: extremeString(rng, 1024) };
    case "handshake":
      return {
        url: rng.chance(0.5)
          ? `/clients/socketio/hubs/fuzz/?EIO=4&transport=websocket&${extremeString(rng)}`
          : url(rng),
        headers: headers(rng),
        remoteAddress: extremeString(rng, 64),
        secure: rng.chance(0.5),
        transport: rng.pick(["websocket", "polling", "", "webtransport", extremeString(rng)]),
        protocol: rng.chance(0.8) ? rng.pick([4, 3]) : extremeInt(rng),
      };
    case "target":
      return target(rng, extremeString(rng, 32));
    case "snapshot":
      return snapshot(rng);
    case "snapshot[]":
      return Array.from({ length: rng.chance(0.005) ? rng.size(2000) : rng.size(8) }, () => snapshot(rng));
    case "nodes":
      return Array.from({ length: rng.size(8) }, () => ({
        nodeId: extremeString(rng, 32),
        url: url(rng),
        region: extremeString(rng, 32),
      }));
    case "limits":
      return { maxOperationBytes: rng.pick([1, 2, 100, 990_000, 2 ** 31, 2 ** 53 - 1, rng.int(1, 2 ** 40)]) };
  }
}

export function extremeInt(rng: Prng): number {
  return rng.weighted<() => number>([
    [6, () => rng.int(0, 100)],
    [
      3,
      () =>
        rng.pick([0, 1, -1, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 48, 2 ** 53 - 1, -(2 ** 53 - 1), -(2 ** 31)]),
    ],
    [1, () => rng.int(-(2 ** 53 - 1), 2 ** 53 - 1)],
  ])();
}

/**
 * Any value but nil (which would be an absent field): plain ones of every kind, deep ones (past the
 * encoder's 100 levels), large ones.
 */
export function anyValue(rng: Prng): RawValue {
  return rng.weighted<() => RawValue>([
    [8, () => randomValue(rng, 3, 4) ?? 0],
    [2, () => deepRaw(extremeDepth(rng), extremeString(rng), rng.chance(0.5) ? "array" : "map")],
    [0.3, () => "d".repeat(rng.size(100_000))],
    [0.3, () => Array.from({ length: rng.size(5000) }, (_, i) => i)],
    [0.3, () => rng.bytes(rng.size(65_536))],
  ])();
}

export function stringList(rng: Prng, known: readonly string[] = []): string[] {
  const count = rng.chance(0.002) ? rng.size(20_000) : rng.size(8);
  return Array.from({ length: count }, () =>
    known.length > 0 && rng.chance(0.5) ? rng.pick(known) : extremeString(rng, 64),
  );
}

export function target(rng: Prng, nsp: string, rooms: readonly string[] = []): Record<string, RawValue> {
  const value: Record<string, RawValue> = {
    nsp,
    rooms: rng.chance(0.3) ? [] : stringList(rng, rooms),
    except: rng.chance(0.7) ? [] : stringList(rng, rooms),
  };
  if (rng.chance(0.3)) value.local = rng.chance(0.5);
  return value;
}

export function snapshot(rng: Prng, id: string = extremeString(rng, 32)): Record<string, RawValue> {
  return {
    id,
    handshake: {
      headers: headers(rng),
      time: extremeString(rng),
      address: extremeString(rng),
      xdomain: rng.chance(0.5),
      secure: rng.chance(0.5),
      issued: extremeNumber(rng),
      url: rng.chance(0.01) ? "u".repeat(rng.size(100_000)) : url(rng),
      query: rng.chance(0.2) ? deepRaw(extremeDepth(rng), 1, "map") : (randomValue(rng, 2, 4) ?? {}),
      auth: rng.chance(0.3) ? deepRaw(extremeDepth(rng), 1, "map") : (randomValue(rng, 3, 4) ?? {}),
    },
    rooms: stringList(rng),
    data: anyValue(rng),
  };
}

export function headers(rng: Prng): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  const count = rng.chance(0.002) ? rng.size(5000) : rng.size(8);
  for (let i = 0; i < count; i++) {
    const name = rng.chance(0.5)
      ? rng.pick(["host", "origin", "cookie", "x-forwarded-for", "user-agent", "x-banned"])
      : extremeString(rng, 32);
    if (name === "__proto__") continue; // the decoder refuses it: that is malformed(), not this
    result[name] = rng.chance(0.8)
      ? extremeString(rng, 512)
      : Array.from({ length: rng.size(8) }, () => extremeString(rng, 64));
  }
  return result;
}

export function url(rng: Prng): string {
  return rng.pick([
    "/",
    "http://[",
    "http://",
    "//",
    "/?%zz",
    "mailto:x",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "ws://127.0.0.1:1/",
    "http://127.0.0.1:1",
    `http://127.0.0.1:${rng.int(1, 65535)}/`,
    "http://256.256.256.256/",
    "http://user:pass@127.0.0.1:1/",
    extremeString(rng, 64),
    "/" + "a".repeat(rng.size(2000)),
  ]);
}

function payload(rng: Prng): Uint8Array | string {
  return rng.weighted<() => Uint8Array | string>([
    [6, () => `2["fuzz",${JSON.stringify(extremeString(rng, 128))}]`],
    [2, () => extremeString(rng, 512)],
    [2, () => rng.bytes(rng.size(4096))],
    [0.2, () => "p".repeat(rng.size(200_000))],
  ])();
}

/** A value of some other kind than the field wants (or none of any kind). */
function wrongValue(rng: Prng): RawValue {
  return rng.weighted<() => RawValue>([
    [
      3,
      () =>
        rng.pick<RawValue>([
          null,
          true,
          false,
          0,
          -1,
          1.5,
          NaN,
          Infinity,
          2 ** 64,
          "",
          "x",
          [],
          {},
          [null],
          { a: 1 },
        ]),
    ],
    [
      3,
      () =>
        fieldValue(
          rng,
          rng.pick<Kind>([
            "str",
            "int",
            "bool",
            "payload",
            "str[]",
            "any[]",
            "target",
            "snapshot",
            "nodes",
            "limits",
            "handshake",
          ]),
        ),
    ],
    [1, () => rng.bytes(rng.size(64))],
    [1, () => deepRaw(extremeDepth(rng))],
  ])();
}

function plain(value: RawValue): unknown {
  return value instanceof RawMsgpack ? "[raw]" : value instanceof Uint8Array ? "[bytes]" : value;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(a.length + b.length);
  bytes.set(a);
  bytes.set(b, a.length);
  return bytes;
}
