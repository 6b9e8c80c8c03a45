import type { Payload } from "@regio/protocol";

/**
 * Catches a client's acknowledgement of a broadcast-with-ack (which the broker, not an app server,
 * wrote to the client) and hands it to whoever waits for it. Only the header of the Socket.IO
 * packet is read (type, attachment count, namespace, id); the body travels on as bytes.
 */
export interface AckWaiter {
  onAck(packet: Payload[]): void;
}

/** As socket.io-parser's Decoder: a packet announcing more attachments than this is not a valid ack. */
export const MAX_ATTACHMENTS = 10;

const ACK = "3";
const BINARY_ACK = "6";

interface AckHeader {
  nsp: string;
  id: number;
  attachments: number;
}

/** Parses `3[/nsp,]id[...]` or `6<n>-[/nsp,]id[...]`; undefined for anything else. */
export function parseAckHeader(packet: string): AckHeader | undefined {
  const type = packet[0];
  if (type !== ACK && type !== BINARY_ACK) return undefined;
  let i = 1;
  let attachments = 0;
  if (type === BINARY_ACK) {
    const dash = packet.indexOf("-", i);
    if (dash < 0) return undefined;
    attachments = Number(packet.slice(i, dash));
    if (!Number.isSafeInteger(attachments) || attachments < 0 || attachments > MAX_ATTACHMENTS)
      return undefined;
    i = dash + 1;
  }
  let nsp = "/";
  if (packet[i] === "/") {
    const comma = packet.indexOf(",", i);
    if (comma < 0) return undefined;
    nsp = packet.slice(i, comma);
    i = comma + 1;
  }
  const start = i;
  while (i < packet.length && packet.charCodeAt(i) >= 48 && packet.charCodeAt(i) <= 57) i++;
  if (i === start) return undefined;
  return { nsp, id: Number(packet.slice(start, i)), attachments };
}

/** Per client session: the broadcast acks it still owes, keyed by namespace and ack id. */
export class AckCapture {
  /** Made on the first ack awaited: most clients never owe one (an empty Map costs ~200 bytes). */
  private waiters: Map<string, AckWaiter> | undefined;
  private collecting: { waiter: AckWaiter; parts: Payload[]; remaining: number } | undefined;

  get idle(): boolean {
    return (this.waiters?.size ?? 0) === 0 && this.collecting === undefined;
  }

  expect(nsp: string, id: number, waiter: AckWaiter): void {
    (this.waiters ??= new Map()).set(key(nsp, id), waiter);
  }

  forget(nsp: string, id: number): void {
    this.waiters?.delete(key(nsp, id));
  }

  /** Returns true when the message was an awaited ack (or one of its attachments) and was consumed. */
  offer(message: Payload): boolean {
    if (this.collecting) {
      if (typeof message === "string") return false;
      const c = this.collecting;
      c.parts.push(message);
      if (--c.remaining === 0) {
        this.collecting = undefined;
        c.waiter.onAck(c.parts);
      }
      return true;
    }
    if (typeof message !== "string") return false;
    const header = parseAckHeader(message);
    if (!header) return false;
    const k = key(header.nsp, header.id);
    const waiter = this.waiters?.get(k);
    if (!waiter) return false;
    this.waiters!.delete(k);
    if (header.attachments === 0) waiter.onAck([message]);
    else this.collecting = { waiter, parts: [message], remaining: header.attachments };
    return true;
  }
}

const key = (nsp: string, id: number): string => `${nsp}\u0000${id}`;
