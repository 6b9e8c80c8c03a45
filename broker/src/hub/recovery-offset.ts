import { createHash } from "node:crypto";
import type { StreamId } from "@regio/protocol";

/**
 * A recovery offset: what a client had received when it received a given event. Events reach a node
 * from several app servers (streams), each in its own order, interleaved differently on different
 * nodes; so an offset is not one position but the node's position in every stream at that moment
 * (for each stream, the last seq it had delivered), plus the time. Every socket of the node that
 * received the event had received everything before it, so one offset serves them all, and the
 * event's frame is still built once. Another node reads it to find, in its own log, exactly what
 * the client missed (for each stream, what came after that seq).
 *
 * Text form (it travels as the last argument of the event, as socket.io's offsets do):
 * `r1.<time base36>.<tag><seq base36>.<tag><seq base36>...`, each tag 6 characters.
 */
export interface RecoveryOffset {
  /** When the node delivered the event, ms. */
  at: number;
  /** Stream tag -> the last seq of that stream delivered with or before the event. */
  positions: Map<string, number>;
}

const VERSION = "r1";
const TAG_LENGTH = 6;

/** A short, stable name for a stream in offsets (a collision only makes a recovery replay less). */
export function streamTag(stream: StreamId): string {
  return createHash("sha256").update(stream).digest("base64url").slice(0, TAG_LENGTH);
}

export function formatOffset(offset: RecoveryOffset): string {
  const parts = [VERSION, offset.at.toString(36)];
  for (const [tag, seq] of offset.positions) parts.push(tag + seq.toString(36));
  return parts.join(".");
}

/** Undefined for anything that is not an offset this version wrote (then nothing is recovered). */
export function parseOffset(text: string): RecoveryOffset | undefined {
  const [version, time, ...entries] = text.split(".");
  if (version !== VERSION || time === undefined) return undefined;
  const at = parseInt(time, 36);
  if (!Number.isSafeInteger(at)) return undefined;
  const positions = new Map<string, number>();
  for (const entry of entries) {
    const seq = parseInt(entry.slice(TAG_LENGTH), 36);
    if (entry.length <= TAG_LENGTH || !Number.isSafeInteger(seq)) return undefined;
    positions.set(entry.slice(0, TAG_LENGTH), seq);
  }
  return { at, positions };
}

/** Appends the offset as the last argument of a Socket.IO EVENT or BINARY_EVENT packet's text part. */
export function withOffset(packetText: string, offset: string): string | undefined {
  const type = packetText[0];
  if ((type !== "2" && type !== "5") || !packetText.endsWith("]")) return undefined;
  return `${packetText.slice(0, -1)},${JSON.stringify(offset)}]`;
}
