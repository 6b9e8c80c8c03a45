import { SendFlags } from "@regio/protocol";
import { RunCursor, type FrameRun } from "./frame-run.ts";
import type { StreamPosition } from "./operations.ts";
import type { PreparedPacket } from "./prepared-packet.ts";
import type { RecipientList } from "./recipients.ts";
import type { SocketEntry } from "./membership.ts";
import type { TickWrites } from "./tick-writes.ts";
import type { HubStats } from "../telemetry/hub-stats.ts";

/**
 * Writes one broadcast's packet to a target's recipients on this node. The first broadcast of a
 * tick to a target is given to each client (ClientSession#write: its checks, its own run); when it
 * leaves every one of them on the same run, they share one cursor for the rest of the tick, and the
 * next broadcasts to the same target move that cursor once, not each client's run: what each client
 * is given, and in which order, is the same. A client given anything else meanwhile (an emit of its
 * own, another room's broadcast, a volatile packet) leaves the shared cursor, and the broadcasts
 * after that are given client by client again. Volatile packets (each client's own in-flight state
 * decides) and targets with a recovered socket (it may skip what it already has) are always given
 * client by client.
 */
export class FanOut {
  constructor(
    private readonly tickWrites: TickWrites,
    private readonly counters: HubStats["client"],
  ) {}

  /** Returns how many clients were written to. */
  deliver(list: RecipientList, packet: PreparedPacket, position: StreamPosition | undefined): number {
    const volatile = (packet.flags & SendFlags.volatile) !== 0;
    const shared = list.shared;
    if (!volatile && shared?.tick === this.tickWrites.tick && !shared.cursor.broken) {
      const n = list.items.length;
      shared.cursor.run = shared.cursor.run.then(packet);
      shared.cursor.sharedBytes += packet.bytes;
      this.counters.packetsOut += n * packet.data.length;
      this.counters.bytesOut += n * packet.bytes;
      return n;
    }
    list.shared = undefined;
    let written = 0;
    // The run every client is on after this packet, as long as they all are on the same one.
    let common: FrameRun | undefined;
    for (let i = 0; i < list.items.length; i++) {
      const { entry, session } = list.items[i]!;
      if (entry.received && position && alreadyReceived(entry, position)) continue;
      if (session.write(packet)) written++;
      if (i === 0) common = session.ownRun;
      else if (common !== session.ownRun) common = undefined;
    }
    if (!volatile && !list.anyRecovered && common && written === list.items.length) {
      const cursor = new RunCursor(common, true);
      for (const { session } of list.items) session.shareCursor(cursor);
      list.shared = { tick: this.tickWrites.tick, cursor };
    }
    return written;
  }
}

/** Whether a recovered socket's client got this operation already; forgets what it has passed. */
function alreadyReceived(entry: SocketEntry, { tag, seq }: StreamPosition): boolean {
  const received = entry.received!;
  const last = received.get(tag);
  if (last === undefined) return false;
  if (seq >= last) received.delete(tag);
  if (received.size === 0) entry.received = undefined;
  return seq <= last;
}
