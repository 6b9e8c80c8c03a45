import { SendFlags, type Payload } from "@regio/protocol";
import { textFrame } from "../internals/ws.ts";

type RawData = string | Buffer;

/** Options engine.io accepts on write, including ws's pre-built frame (engine.io >= 6.5). */
export interface WriteOptions {
  compress: boolean;
  wsPreEncodedFrame?: Buffer[];
}

/**
 * A Socket.IO packet ready to be written to any number of client sessions: converted once, and
 * for the common single-part packet, framed once for every WebSocket client (engine.io writes the
 * pre-built frame as is). Fan-out never encodes per socket.
 */
export interface PreparedPacket {
  data: RawData[];
  flags: number;
  options: WriteOptions;
  /** Options for the parts of a multi-part (binary) packet, which cannot share one frame. */
  partOptions: WriteOptions;
  /** Payload bytes, for the per-client send queue bound. */
  bytes: number;
}

export function preparePacket(parts: Payload[], flags: number, preFrame: boolean): PreparedPacket {
  const data = parts.map((part) =>
    typeof part === "string" ? part : Buffer.from(part.buffer, part.byteOffset, part.byteLength),
  );
  const compress = (flags & SendFlags.compress) !== 0;
  const partOptions: WriteOptions = { compress };
  let options = partOptions;
  const only = data[0];
  if (preFrame && data.length === 1 && typeof only === "string") {
    // "4" is Engine.IO's "message" packet type.
    const frame = textFrame(Buffer.from("4" + only));
    options = { compress, wsPreEncodedFrame: frame };
  }
  const bytes = data.reduce(
    (n, part) => n + (typeof part === "string" ? Buffer.byteLength(part) : part.length),
    0,
  );
  return { data, flags, options, partOptions, bytes };
}
