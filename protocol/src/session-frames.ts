import {
  MessageType,
  type Message,
  type Payload,
  type SessionMessage,
  type SessionSend,
} from "./messages.ts";

/**
 * The frames of client session data (SessionMessage, SessionSend: one or more per client message,
 * every echo and emit crosses the link in them) written and read without the general MessagePack
 * encoder and decoder. The bytes are exactly those @msgpack/msgpack writes for the same row (the
 * smallest format of each string, binary, array and integer; see test/session-frames.test.ts), and
 * a row read here is validated as any other (codec.ts). Anything outside the formats below (a trace
 * context map, a float, a 64-bit integer, a truncated frame) is left to the general codec: `undefined`.
 *
 * Why: per message, the general encoder measures strings in JavaScript, copies its buffer, and the
 * decoder decodes strings under 200 bytes in JavaScript; here Node's native UTF-8 does both.
 */

/** The message types whose frames are written and read here. */
export function isSessionDataType(type: number): boolean {
  return (
    type === MessageType.SessionMessage ||
    type === MessageType.SessionSend ||
    type === MessageType.SessionMessages
  );
}

type Cell = string | number | Uint8Array | null | Cell[];

/** UTF-8 lengths of one SessionSend's text parts, between measuring and writing them (reused: encoding is synchronous). */
const partLengths: number[] = [];

/**
 * A SessionMessage, SessionMessages or SessionSend without a trace context (nearly all of them), written straight from
 * its fields, each string measured once: the bytes encodeSessionRow and the general encoder write for
 * its row. Undefined for any other message, and for a field outside those formats.
 */
export function encodeSessionData(message: Message): Uint8Array | undefined {
  if (message.type === MessageType.SessionMessage) {
    if (message.trace !== undefined) return undefined;
    const { sessionId, data } = message;
    if (typeof sessionId !== "string" || !isPayload(data)) return undefined;
    const idLength = Buffer.byteLength(sessionId, "utf8");
    const dataLength = payloadLength(data);
    const out = Buffer.allocUnsafe(2 + stringSize(idLength) + payloadSize(data, dataLength));
    out[0] = 0x93;
    out[1] = MessageType.SessionMessage;
    writePayload(out, writeString(out, 2, sessionId, idLength), data, dataLength);
    return out;
  }
  if (message.type === MessageType.SessionMessages) {
    // [14, [sessionId, data, sessionId, data, ...]]
    const pairs = message.messages;
    if (!Array.isArray(pairs)) return undefined;
    let size = 2 + arrayHeaderSize(pairs.length);
    partLengths.length = pairs.length;
    for (let i = 0; i < pairs.length; i++) {
      const part = pairs[i];
      if (typeof part !== "string" && !(part instanceof Uint8Array)) return undefined;
      const length = payloadLength(part);
      partLengths[i] = length;
      size += payloadSize(part, length);
    }
    const out = Buffer.allocUnsafe(size);
    out[0] = 0x92;
    out[1] = MessageType.SessionMessages;
    let pos = writeArrayHeader(out, 2, pairs.length);
    for (let i = 0; i < pairs.length; i++) pos = writePayload(out, pos, pairs[i]!, partLengths[i]!);
    return out;
  }
  if (message.type === MessageType.SessionSend) {
    const { sessionId, data, flags, trace, after } = message;
    if (trace !== undefined || !isUint32(flags) || (after !== undefined && !isUint32(after)))
      return undefined;
    if (typeof sessionId !== "string" || !Array.isArray(data)) return undefined;
    const idLength = Buffer.byteLength(sessionId, "utf8");
    // [20, sessionId, data, flags] or [20, sessionId, data, flags, nil, after]
    let size = 2 + stringSize(idLength) + arrayHeaderSize(data.length) + uintSize(flags);
    if (after !== undefined) size += 1 + uintSize(after);
    partLengths.length = data.length;
    for (let i = 0; i < data.length; i++) {
      const part = data[i];
      if (typeof part !== "string" && !(part instanceof Uint8Array)) return undefined;
      const length = payloadLength(part);
      partLengths[i] = length;
      size += payloadSize(part, length);
    }
    const out = Buffer.allocUnsafe(size);
    out[0] = after === undefined ? 0x94 : 0x96;
    out[1] = MessageType.SessionSend;
    let pos = writeString(out, 2, sessionId, idLength);
    pos = writeArrayHeader(out, pos, data.length);
    for (let i = 0; i < data.length; i++) pos = writePayload(out, pos, data[i]!, partLengths[i]!);
    pos = write(out, pos, flags);
    if (after !== undefined) {
      out[pos] = 0xc0;
      write(out, pos + 1, after);
    }
    return out;
  }
  return undefined;
}

/**
 * The message of a session data row read here (decodeSessionRow) when every field is valid and it
 * carries no trace context; undefined otherwise (the general validation then reads the row, and
 * refuses it with the reason when it is bad).
 */
export function sessionDataMessage(row: readonly unknown[]): SessionMessage | SessionSend | undefined {
  const [type, sessionId, data] = row;
  if (typeof sessionId !== "string") return undefined;
  if (type === MessageType.SessionMessage) {
    if (row.length > 4 || (row.length === 4 && row[3] !== null) || !isPayload(data)) return undefined;
    return { type, sessionId: sessionId as SessionMessage["sessionId"], data };
  }
  if (type === MessageType.SessionSend) {
    const [, , , flags, trace, after] = row;
    if (row.length < 4 || row.length > 6 || !Number.isSafeInteger(flags)) return undefined;
    if ((trace !== undefined && trace !== null) || !Array.isArray(data) || data.length === 0)
      return undefined;
    for (const part of data) if (!isPayload(part)) return undefined;
    const message: SessionSend = {
      type,
      sessionId: sessionId as SessionSend["sessionId"],
      data: data as Payload[],
      flags: flags as number,
    };
    if (after !== undefined && after !== null) {
      if (!Number.isSafeInteger(after)) return undefined;
      message.after = after as number;
    }
    return message;
  }
  return undefined;
}

const isPayload = (value: unknown): value is Payload =>
  typeof value === "string" || value instanceof Uint8Array;
const isUint32 = (value: number) => Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
const stringSize = (length: number) =>
  length + (length < 32 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5);
const binarySize = (length: number) => length + (length < 0x100 ? 2 : length < 0x10000 ? 3 : 5);
const uintSize = (value: number) => (value < 0x80 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : 5);
const payloadLength = (part: Payload) =>
  typeof part === "string" ? Buffer.byteLength(part, "utf8") : part.byteLength;
const payloadSize = (part: Payload, length: number) =>
  typeof part === "string" ? stringSize(length) : binarySize(length);

function writePayload(out: Buffer, pos: number, part: Payload, length: number): number {
  return typeof part === "string" ? writeString(out, pos, part, length) : write(out, pos, part);
}

/** A string whose UTF-8 length is known. */
function writeString(out: Buffer, pos: number, value: string, length: number): number {
  if (length < 32) out[pos++] = 0xa0 | length;
  else if (length < 0x100) {
    out[pos] = 0xd9;
    out[pos + 1] = length;
    pos += 2;
  } else if (length < 0x10000) {
    out[pos] = 0xda;
    out.writeUInt16BE(length, pos + 1);
    pos += 3;
  } else {
    out[pos] = 0xdb;
    out.writeUInt32BE(length, pos + 1);
    pos += 5;
  }
  return pos + out.write(value, pos, length, "utf8");
}

/** The encoded row, or undefined when a value is outside what is written here. */
export function encodeSessionRow(row: readonly unknown[]): Uint8Array | undefined {
  let size = 0;
  for (const cell of row) {
    const cellSize = sizeOf(cell, 0);
    if (cellSize < 0) return undefined;
    size += cellSize;
  }
  size += arrayHeaderSize(row.length);
  const out = Buffer.allocUnsafe(size);
  let pos = writeArrayHeader(out, 0, row.length);
  for (const cell of row) pos = write(out, pos, cell as Cell);
  return out;
}

/** Bytes of one value, or -1 when it is not written here. */
function sizeOf(value: unknown, depth: number): number {
  if (value === null) return 1;
  if (typeof value === "string") {
    const length = Buffer.byteLength(value, "utf8");
    return length + (length < 32 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5);
  }
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) return -1;
    return value < 0x80 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : 5;
  }
  if (value instanceof Uint8Array) {
    const length = value.byteLength;
    return length + (length < 0x100 ? 2 : length < 0x10000 ? 3 : 5);
  }
  if (Array.isArray(value) && depth === 0) {
    let size = arrayHeaderSize(value.length);
    for (const item of value) {
      const itemSize = sizeOf(item, depth + 1);
      if (itemSize < 0) return -1;
      size += itemSize;
    }
    return size;
  }
  return -1;
}

const arrayHeaderSize = (length: number) => (length < 16 ? 1 : length < 0x10000 ? 3 : 5);

function writeArrayHeader(out: Buffer, pos: number, length: number): number {
  if (length < 16) {
    out[pos] = 0x90 | length;
    return pos + 1;
  }
  if (length < 0x10000) {
    out[pos] = 0xdc;
    out.writeUInt16BE(length, pos + 1);
    return pos + 3;
  }
  out[pos] = 0xdd;
  out.writeUInt32BE(length, pos + 1);
  return pos + 5;
}

function write(out: Buffer, pos: number, value: Cell): number {
  if (value === null) {
    out[pos] = 0xc0;
    return pos + 1;
  }
  if (typeof value === "string") return writeString(out, pos, value, Buffer.byteLength(value, "utf8"));
  if (typeof value === "number") {
    if (value < 0x80) {
      out[pos] = value;
      return pos + 1;
    }
    if (value < 0x100) {
      out[pos] = 0xcc;
      out[pos + 1] = value;
      return pos + 2;
    }
    if (value < 0x10000) {
      out[pos] = 0xcd;
      out.writeUInt16BE(value, pos + 1);
      return pos + 3;
    }
    out[pos] = 0xce;
    out.writeUInt32BE(value, pos + 1);
    return pos + 5;
  }
  if (value instanceof Uint8Array) {
    const length = value.byteLength;
    if (length < 0x100) {
      out[pos] = 0xc4;
      out[pos + 1] = length;
      pos += 2;
    } else if (length < 0x10000) {
      out[pos] = 0xc5;
      out.writeUInt16BE(length, pos + 1);
      pos += 3;
    } else {
      out[pos] = 0xc6;
      out.writeUInt32BE(length, pos + 1);
      pos += 5;
    }
    out.set(value, pos);
    return pos + length;
  }
  pos = writeArrayHeader(out, pos, value.length);
  for (const item of value) pos = write(out, pos, item);
  return pos;
}

/** Thrown inside the reader when a frame leaves its formats: the general decoder takes it. */
const NOT_HERE = Symbol("not a session frame");

/**
 * The row of a session data frame (`[11, 14 or 20, ...]`), or undefined for any other frame and for
 * anything this reader does not take (the general decoder then reads it, and refuses it if bad).
 */
export function decodeSessionRow(frame: Uint8Array): unknown[] | undefined {
  // A fixarray whose first element is the positive fixint 11, 14 or 20.
  if (frame.length < 2 || (frame[0]! & 0xf0) !== 0x90 || !isSessionDataType(frame[1]!)) return undefined;
  const bytes = Buffer.isBuffer(frame)
    ? frame
    : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const reader = { bytes, frame, pos: 0 };
  try {
    const row = read(reader, 0);
    if (reader.pos !== bytes.length) return undefined;
    return row as unknown[];
  } catch (error) {
    if (error === NOT_HERE) return undefined;
    throw error;
  }
}

interface Reader {
  /** The frame as a Buffer (native reads). */
  bytes: Buffer;
  /** The frame as given: binaries are views of it, as the general decoder's. */
  frame: Uint8Array;
  pos: number;
}

function take(reader: Reader, count: number): number {
  const at = reader.pos;
  if (at + count > reader.bytes.length) throw NOT_HERE;
  reader.pos = at + count;
  return at;
}

function read(reader: Reader, depth: number): Cell {
  const bytes = reader.bytes;
  const head = bytes[take(reader, 1)]!;
  if (head < 0x80) return head;
  if (head >= 0xe0) return head - 0x100;
  if ((head & 0xe0) === 0xa0) return readString(reader, head & 0x1f);
  if ((head & 0xf0) === 0x90) return readArray(reader, head & 0x0f, depth);
  switch (head) {
    case 0xc0:
      return null;
    case 0xcc:
      return bytes[take(reader, 1)]!;
    case 0xcd:
      return bytes.readUInt16BE(take(reader, 2));
    case 0xce:
      return bytes.readUInt32BE(take(reader, 4));
    case 0xd0:
      return bytes.readInt8(take(reader, 1));
    case 0xd1:
      return bytes.readInt16BE(take(reader, 2));
    case 0xd2:
      return bytes.readInt32BE(take(reader, 4));
    case 0xd9:
      return readString(reader, bytes[take(reader, 1)]!);
    case 0xda:
      return readString(reader, bytes.readUInt16BE(take(reader, 2)));
    case 0xdb:
      return readString(reader, bytes.readUInt32BE(take(reader, 4)));
    case 0xc4:
      return readBinary(reader, bytes[take(reader, 1)]!);
    case 0xc5:
      return readBinary(reader, bytes.readUInt16BE(take(reader, 2)));
    case 0xc6:
      return readBinary(reader, bytes.readUInt32BE(take(reader, 4)));
    case 0xdc:
      return readArray(reader, bytes.readUInt16BE(take(reader, 2)), depth);
    case 0xdd:
      return readArray(reader, bytes.readUInt32BE(take(reader, 4)), depth);
    default:
      throw NOT_HERE;
  }
}

function readString(reader: Reader, length: number): string {
  const at = take(reader, length);
  return reader.bytes.toString("utf8", at, at + length);
}

/** A view into the frame, as the general decoder returns. */
function readBinary(reader: Reader, length: number): Uint8Array {
  const at = take(reader, length);
  return reader.frame.subarray(at, at + length);
}

function readArray(reader: Reader, length: number, depth: number): Cell[] {
  // The row, and a payload list in it: nothing deeper is a session frame's.
  if (depth > 1 || length > reader.bytes.length - reader.pos) throw NOT_HERE;
  const items: Cell[] = new Array<Cell>(length);
  for (let i = 0; i < length; i++) items[i] = read(reader, depth + 1);
  return items;
}
