import { SendFlags, type Payload } from "@regio/protocol";
import { messageFrames } from "./message-frames.ts";

type RawData = string | Buffer;

/** Options engine.io accepts on write, including ws's pre-built frame (engine.io >= 6.5). */
export interface WriteOptions {
  compress: boolean;
  wsPreEncodedFrame?: Buffer[];
}

/**
 * One or more Engine.IO messages for a client (a Socket.IO packet's parts; or, from an app server,
 * several packets written to one client in one tick) ready to be written to any number of client
 * sessions: converted once, and when every part is text, framed once for every WebSocket client
 * (engine.io writes the pre-built frames as is). Fan-out never encodes per socket.
 */
export interface PreparedPacket {
  data: RawData[];
  flags: number;
  /** Options for writing a single-part packet through engine.io (with its frame when it has one). */
  options: WriteOptions;
  /** Options for the parts of a multi-part packet, written through engine.io one by one. */
  partOptions: WriteOptions;
  /** Payload bytes, for the per-client send queue bound. */
  bytes: number;
  /** The WebSocket frames of every part, in order, when every part is text (`preFrame`). */
  frames: Buffer | undefined;
}

export function preparePacket(parts: Payload[], flags: number, preFrame: boolean): PreparedPacket {
  const data: RawData[] = new Array<RawData>(parts.length);
  const lengths: number[] = new Array<number>(parts.length);
  let bytes = 0;
  let allText = true;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (typeof part === "string") {
      data[i] = part;
      bytes += lengths[i] = Buffer.byteLength(part);
    } else {
      data[i] = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
      bytes += lengths[i] = part.byteLength;
      allText = false;
    }
  }
  const compress = (flags & SendFlags.compress) !== 0;
  const partOptions: WriteOptions = { compress };
  const frames =
    preFrame && allText && parts.length > 0 ? messageFrames(data as string[], lengths) : undefined;
  const options = frames && parts.length === 1 ? { compress, wsPreEncodedFrame: [frames] } : partOptions;
  return { data, flags, options, partOptions, bytes, frames };
}
