import type { PreparedPacket } from "./prepared-packet.ts";

/** Socket.IO packet types the hold watches for (socket.io-parser's PacketType). */
const CONNECT = "0";
const CONNECT_ERROR = "4";

/** What becomes of a packet written to a session whose socket is being recovered. */
export type HoldVerdict =
  /** Not for a socket being recovered: written as usual. */
  | { kind: "write" }
  /** For a socket being recovered: kept until its CONNECT. */
  | { kind: "held" }
  /** The app server's answer for a recovered socket: written, then what was held for it (none on CONNECT_ERROR). */
  | { kind: "answer"; release: PreparedPacket[] };

/**
 * A recovered socket's events wait for its CONNECT. The node that recovers a socket writes the
 * events the client missed at once, while the app server runs its middlewares and only then sends
 * CONNECT: a round trip, or longer. socket.io-client keeps events that arrive before CONNECT in a
 * buffer without taking their offsets; if the connection drops in between, it comes back with its
 * older offset and would get those events again, on top of the buffered copies. So, per namespace
 * being recovered, the session holds that namespace's packets until the app server's CONNECT (then
 * writes them right after it) or CONNECT_ERROR (then drops them: the client gets its socket back
 * elsewhere, or as a new one, and nothing it was not given counts as received).
 */
export class HeldUntilConnect {
  private readonly held = new Map<string, PreparedPacket[]>();
  private heldBytes = 0;

  get isEmpty(): boolean {
    return this.held.size === 0;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  hold(nsp: string): void {
    if (!this.held.has(nsp)) this.held.set(nsp, []);
  }

  take(packet: PreparedPacket): HoldVerdict {
    const text = packet.data[0];
    if (typeof text !== "string") return { kind: "write" };
    const nsp = namespaceOf(text);
    const held = this.held.get(nsp);
    if (!held) return { kind: "write" };
    if (text[0] === CONNECT || text[0] === CONNECT_ERROR) {
      this.held.delete(nsp);
      for (const packet of held) this.heldBytes -= packet.bytes;
      return { kind: "answer", release: text[0] === CONNECT ? held : [] };
    }
    held.push(packet);
    this.heldBytes += packet.bytes;
    return { kind: "held" };
  }
}

/**
 * The namespace a Socket.IO packet's text names (socket.io-parser's format:
 * `<type>[<attachments>-][<nsp>,][<id>][<data>]`, the namespace only when not "/").
 */
export function namespaceOf(text: string): string {
  let start = 1;
  if (text[0] === "5" || text[0] === "6") {
    const dash = text.indexOf("-");
    if (dash > 0) start = dash + 1;
  }
  if (text[start] !== "/") return "/";
  const comma = text.indexOf(",", start);
  return comma < 0 ? text.slice(start) : text.slice(start, comma);
}
