import type { PreparedPacket } from "./prepared-packet.ts";

/**
 * What a WebSocket client has been written so far in the current tick: a node in the tick's trie of
 * packet sequences. Clients written the same packets in the same order (every client of a broadcast,
 * the members of one room: a few distinct sequences, not one per client) end the tick on the same
 * node, and share one buffer of those packets' frames, concatenated once and written to each of
 * them with one write. A run is good for one tick only: the next tick starts from a new root.
 */
export class FrameRun {
  // Nearly every node has one successor (everyone got the same next packet): no Map for those.
  private firstPacket: PreparedPacket | undefined;
  private firstNext: FrameRun | undefined;
  private others: Map<PreparedPacket, FrameRun> | undefined;
  /** The run's frames concatenated (null: a packet of the run has no pre-built frame). */
  private joined: Buffer | null | undefined;

  private constructor(
    private readonly previous: FrameRun | undefined,
    private readonly packet: PreparedPacket | undefined,
  ) {}

  /** The start of a tick: nothing written yet. */
  static start(): FrameRun {
    return new FrameRun(undefined, undefined);
  }

  /** This run followed by `packet`: the same node for every client that is written the same. */
  then(packet: PreparedPacket): FrameRun {
    if (this.firstPacket === packet) return this.firstNext!;
    if (this.firstPacket === undefined) {
      this.firstPacket = packet;
      return (this.firstNext = new FrameRun(this, packet));
    }
    this.others ??= new Map();
    let next = this.others.get(packet);
    if (!next) this.others.set(packet, (next = new FrameRun(this, packet)));
    return next;
  }

  /** The run's packets, oldest first. */
  packets(): PreparedPacket[] {
    const packets: PreparedPacket[] = this.packet ? [this.packet] : [];
    for (let run = this.previous; run?.packet; run = run.previous) packets.push(run.packet);
    return packets.reverse();
  }

  /**
   * Every frame of the run in one buffer, built on first use and shared by every client on this
   * node; undefined when a packet of the run has no pre-built WebSocket frame (binary, multi-part),
   * and so must be written packet by packet.
   */
  frames(): Buffer | undefined {
    if (this.joined === undefined) {
      const frames: Buffer[] = [];
      for (const packet of this.packets()) {
        if (!packet.frames) {
          this.joined = null;
          return undefined;
        }
        frames.push(packet.frames);
      }
      // A run of one packet (an app server's answers to one client in one tick) is its own frames.
      this.joined = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    }
    return this.joined ?? undefined;
  }
}

/**
 * Where a client's run of the tick stands. The clients of one broadcast target share one while each
 * of them is given exactly what the others are (see OperationExecutor#deliver): a broadcast to all
 * of them then moves this one cursor instead of each client's.
 */
export class RunCursor {
  /** Bytes given through the shared cursor, each client's to count when it leaves it or flushes. */
  sharedBytes = 0;
  /** A client left the shared cursor (it was given something the others were not): it moves no more for all. */
  broken = false;

  constructor(
    public run: FrameRun,
    readonly shared: boolean,
  ) {}
}
