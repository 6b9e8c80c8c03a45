import { Encoder } from "@msgpack/msgpack";

/**
 * MessagePack bytes written by hand, for frames the library's encoder refuses to produce: values
 * nested deeper than its 100 levels (a hostile peer is not bound by that), and rows that mix such
 * bytes with ordinary values.
 */
export class RawMsgpack {
  constructor(readonly bytes: Uint8Array) {}
}

/** A value for `encodeRaw`: anything the encoder takes, or bytes already encoded. */
export type RawValue = unknown;

// Values are plain and shallow here; deep ones come in as RawMsgpack. NaN and undefined are kept
// as the encoder writes them (float and nil).
const encoder = new Encoder({ ignoreUndefined: false });

export function encodeRaw(value: RawValue): Uint8Array {
  if (value instanceof RawMsgpack) return value.bytes;
  if (Array.isArray(value) && value.some(containsRaw))
    return concat([arrayHeader(value.length), ...value.map(encodeRaw)]);
  if (isPlainObject(value) && Object.values(value).some(containsRaw)) {
    const entries = Object.entries(value);
    return concat([
      mapHeader(entries.length),
      ...entries.flatMap(([k, v]) => [encoder.encode(k), encodeRaw(v)]),
    ]);
  }
  return encoder.encode(value);
}

/** `depth` nested arrays (or single-key maps) around `leaf`: `[[[...leaf...]]]`. */
export function deepRaw(depth: number, leaf: RawValue = null, shape: "array" | "map" = "array"): RawMsgpack {
  const leafBytes = encodeRaw(leaf);
  const open = shape === "array" ? Uint8Array.of(0x91) : Uint8Array.of(0x81, 0xa1, 0x61); // [x] or {a: x}
  const bytes = new Uint8Array(open.length * depth + leafBytes.length);
  for (let i = 0; i < depth; i++) bytes.set(open, i * open.length);
  bytes.set(leafBytes, open.length * depth);
  return new RawMsgpack(bytes);
}

function containsRaw(value: unknown): boolean {
  if (value instanceof RawMsgpack) return true;
  if (Array.isArray(value)) return value.some(containsRaw);
  if (isPlainObject(value)) return Object.values(value).some(containsRaw);
  return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function arrayHeader(length: number): Uint8Array {
  if (length < 16) return Uint8Array.of(0x90 | length);
  if (length < 65536) return Uint8Array.of(0xdc, length >> 8, length & 0xff);
  return Uint8Array.of(0xdd, length >>> 24, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
}

function mapHeader(length: number): Uint8Array {
  if (length < 16) return Uint8Array.of(0x80 | length);
  if (length < 65536) return Uint8Array.of(0xde, length >> 8, length & 0xff);
  return Uint8Array.of(0xdf, length >>> 24, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}
