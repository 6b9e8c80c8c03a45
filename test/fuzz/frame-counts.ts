import { decodeMessage } from "@regio/protocol";

/** What one fuzzer sent, counted when the transport took each frame (not when it was generated). */
export interface FrameCounts {
  frames: number;
  bytes: number;
  /** Frames the protocol's own decoder accepts (the rest are malformed: text, garbage, bad schema). */
  wellFormed: number;
  /** Frames by the message type they claim ("garbage" when they claim none). */
  byType: Record<string, number>;
  /** From the first frame to the last. */
  seconds: number;
}

export function newFrameCounts(): FrameCounts {
  return { frames: 0, bytes: 0, wellFormed: 0, byType: {}, seconds: 0 };
}

/** Counts an app-link frame that was sent, classified by the protocol's own decoder. */
export function countLinkFrame(
  counts: FrameCounts,
  data: Uint8Array | string,
  claimedType: number | undefined,
): void {
  counts.frames++;
  counts.bytes += typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
  const key = claimedType === undefined ? "garbage" : String(claimedType);
  counts.byType[key] = (counts.byType[key] ?? 0) + 1;
  if (typeof data === "string") return;
  try {
    decodeMessage(data);
    counts.wellFormed++;
  } catch {
    /* malformed: counted as such by not counting it */
  }
}
