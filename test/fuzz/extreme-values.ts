import type { Prng } from "./prng.ts";

/**
 * Values at the edges: numbers past every integer and float boundary, strings that are empty,
 * long, invalid UTF-16, or that look like something else (a namespace, a prototype key, the
 * polling separator), and structures that are deep, wide or large. Shared by the frame generators:
 * as JavaScript values (for MessagePack frames) and as JSON text (for Socket.IO packets, whose text
 * a client writes by hand and may make deeper or odder than JSON.stringify would).
 */

const EXTREME_NUMBERS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  0.5,
  -1.5,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  2 ** 32,
  2 ** 48,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53 - 1),
  -(2 ** 53),
  1e21,
  1e308,
  -1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  NaN,
  Infinity,
  -Infinity,
];

/** Number literals JSON allows but JavaScript cannot hold exactly (or at all). */
const EXTREME_NUMBER_TEXTS: readonly string[] = [
  "-0",
  "1e999",
  "-1e999",
  "123456789012345678901234567890",
  "9007199254740993",
  "1E+2",
  "0.1e-400",
  "-9223372036854775808",
  "18446744073709551616",
  "0.30000000000000004",
];

export const ODD_STRINGS: readonly string[] = [
  "",
  " ",
  "\u0000",
  "\u001e",
  "\ud800",
  "\udfff",
  "🙂🙂🙂",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "/",
  "/fuzz",
  "/nope",
  "..",
  "%",
  "%00",
  "\\",
  '"',
  "\r\n",
  "null",
  "undefined",
  "NaN",
  "{}",
  "[]",
  "\u202e",
  "connection",
  "connect",
  "disconnect",
  "disconnecting",
  "new_namespace",
  "error",
  "newListener",
  "removeListener",
];

export function extremeNumber(rng: Prng): number {
  if (rng.chance(0.7)) return rng.pick(EXTREME_NUMBERS);
  return rng.chance(0.5)
    ? rng.int(-(2 ** 53 - 1), 2 ** 53 - 1)
    : (rng.next() - 0.5) * 10 ** rng.int(-20, 300);
}

/** A short string, usually; odd or long now and then (up to `maxLength` code units). */
export function extremeString(rng: Prng, maxLength = 64): string {
  return rng.weighted<() => string>([
    [4, () => rng.pick(ODD_STRINGS)],
    [6, () => randomText(rng, rng.size(Math.min(32, maxLength)))],
    [1, () => rng.pick(["x", "\u00e9", "🙂", "\ud800"]).repeat(Math.ceil(rng.size(maxLength) / 2))],
  ])();
}

/** Characters from every plane, including unpaired surrogates and control characters. */
function randomText(rng: Prng, length: number): string {
  let text = "";
  while (text.length < length) {
    const draw = rng.next();
    if (draw < 0.77) text += String.fromCharCode(0x61 + Math.floor(rng.next() * 26));
    else if (draw < 0.88) text += String.fromCharCode(0x20 + Math.floor(rng.next() * 95));
    else if (draw < 0.92) text += String.fromCharCode(Math.floor(rng.next() * 0x20));
    else if (draw < 0.96) text += String.fromCharCode(0x80 + Math.floor(rng.next() * 0xff80));
    else text += String.fromCodePoint(0x10000 + Math.floor(rng.next() * 0x100000));
  }
  return text.slice(0, length);
}

/** A JavaScript value of any shape, up to `depth` levels and about `width` members per level. */
export function randomValue(rng: Prng, depth = 3, width = 4): unknown {
  const leaf = depth <= 0 || rng.chance(0.5);
  if (leaf) {
    return rng.weighted<() => unknown>([
      [2, () => null],
      [1, () => undefined],
      [2, () => rng.chance(0.5)],
      [4, () => extremeNumber(rng)],
      [5, () => extremeString(rng, 256)],
      [1, () => rng.bytes(rng.size(64))],
    ])();
  }
  const count = rng.size(width);
  if (rng.chance(0.5)) return Array.from({ length: count }, () => randomValue(rng, depth - 1, width));
  const object: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    // Defined as own properties: "__proto__" stays a key, as JSON.parse and MessagePack make it.
    Object.defineProperty(object, extremeString(rng, 16), {
      value: randomValue(rng, depth - 1, width),
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  return object;
}

/** A depth for "deep" values: mostly 50..500 levels, as the protocol's bounds are far below. */
export function extremeDepth(rng: Prng): number {
  return rng.chance(0.9) ? rng.int(50, 500) : rng.int(501, 5000);
}

/**
 * A depth for values a client sends, which an app may send back (echo, broadcast): well below the
 * ~4,000 levels where JSON.stringify overflows the stack (fewer when called from deep in a stack). An app that re-emits a deeper value a client
 * sent throws from its emit on plain socket.io too (its encoder is JSON.stringify), so deeper
 * values would test the app, not Regio.
 */
function clientDepth(rng: Prng): number {
  return rng.chance(0.9) ? rng.int(50, 500) : rng.int(501, 2000);
}

/**
 * JSON text of any shape: small values mostly; deep nesting, long strings, long arrays, number
 * literals past the float range, and keys such as "__proto__" now and then. `largeBytes` bounds the
 * long ones.
 */
export function jsonText(rng: Prng, largeBytes = 4096): string {
  return rng.weighted<() => string>([
    [30, () => JSON.stringify(randomValue(rng, 3, 4), jsonReplacer) ?? "null"],
    [6, () => rng.pick(EXTREME_NUMBER_TEXTS)],
    [4, () => deepJsonText(rng, clientDepth(rng))],
    [3, () => JSON.stringify("x".repeat(rng.size(largeBytes)))],
    [2, () => `[${Array.from({ length: rng.size(Math.floor(largeBytes / 2)) }, () => "1").join(",")}]`],
    [2, () => `{"__proto__":${JSON.stringify(randomValue(rng, 2, 3), jsonReplacer) ?? "null"},"a":1}`],
    [
      1,
      () =>
        `{${Array.from({ length: rng.size(Math.floor(largeBytes / 8)) }, (_, i) => `"k${i}":${i}`).join(",")}}`,
    ],
  ])();
}

/** `[[[ ... ]]]` or `{"a":{"a": ... }}` or both mixed, `depth` levels, as text. */
function deepJsonText(rng: Prng, depth: number): string {
  const shape = rng.int(0, 2);
  if (shape === 0) return "[".repeat(depth) + "]".repeat(depth);
  if (shape === 1) return '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
  const half = Math.ceil(depth / 2); // two levels each
  return '[{"a":'.repeat(half) + "null" + "}]".repeat(half);
}

/** Byte arrays as JSON would see them (socket.io would send them as attachments instead). */
function jsonReplacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Array.from(value.subarray(0, 8)) : value;
}
