/**
 * Engine.IO "message" packets of text as the WebSocket frames a server writes them in (RFC 6455
 * section 5.2: FIN, opcode 1, unmasked, the shortest length encoding), built straight into one buffer:
 * the bytes engine.io's WebSocket transport and ws write for `socket.write(text)` (Engine.IO's "4",
 * then the text), without a string concatenation, a copy and a header buffer per packet.
 */

/** Bytes of the frame header for a payload of `length` bytes. */
const headerSize = (length: number) => (length < 126 ? 2 : length < 0x10000 ? 4 : 10);

/**
 * One buffer holding a frame per text, in order; `byteLengths[i]` is the UTF-8 length of `texts[i]`
 * (the caller measured it already).
 */
export function messageFrames(texts: readonly string[], byteLengths: readonly number[]): Buffer {
  let size = 0;
  for (const length of byteLengths) size += headerSize(length + 1) + length + 1;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    const payload = byteLengths[i]! + 1;
    out[at] = 0x81; // FIN + text
    if (payload < 126) {
      out[at + 1] = payload;
      at += 2;
    } else if (payload < 0x10000) {
      out[at + 1] = 126;
      out.writeUInt16BE(payload, at + 2);
      at += 4;
    } else {
      out[at + 1] = 127;
      out.writeUInt32BE(Math.floor(payload / 0x100000000), at + 2);
      out.writeUInt32BE(payload >>> 0, at + 6);
      at += 10;
    }
    out[at++] = 0x34; // "4": Engine.IO's message packet
    at += out.write(texts[i]!, at, byteLengths[i]!, "utf8");
  }
  return out;
}
