import type { Socket as EngineSocket } from "engine.io";
import {
  closeForPingTimeout,
  readPongsDirectly,
  sendPing,
  takeOverHeartbeat,
} from "../internals/engine-io.ts";

export interface HeartbeatTimes {
  /** engine.io's pingInterval: a ping this long after the last pong (or the handshake). */
  pingIntervalMs: number;
  /** engine.io's pingTimeout: closed with "ping timeout" when no pong comes this long after a ping. */
  pingTimeoutMs: number;
}

/**
 * One WebSocket session's heartbeat: waiting to be pinged, or waiting for its pong. Kept small (one
 * per idle client): the two flags in one integer, "closed" as no socket.
 */
interface Beat {
  /** The session; undefined once it closed (the beat may still be listed in a slot: skipped there). */
  socket: EngineSocket | undefined;
  /** The slot it is due in (NOT_DUE: in none, being fired or closed). Listed in other slots: stale. */
  slot: number;
  /** AWAITING_PONG and EXTENDED bits. */
  state: number;
}

const NOT_DUE = -1;
/** A ping was sent and its pong has not come. */
const AWAITING_PONG = 1;
/** A packet other than the pong has already extended the wait for this ping (once, as engine.io). */
const EXTENDED = 2;

/** The granularity of the schedule, as a share of the shorter of pingInterval and pingTimeout. */
const SLOTS_PER_PERIOD = 10;
/** At most this late (ms) a ping or a timeout (a 1 s slot measured no cheaper in bench/idle-memory.ts). */
const MAX_SLOT_MS = 250;

/**
 * The Engine.IO heartbeat of a node's WebSocket sessions (protocol 4), on one timer: every slot
 * (a tenth of the shorter of pingInterval and pingTimeout, at most 250 ms) it visits the sessions
 * due, pings those due a ping and closes with "ping timeout" those whose pong did not come, instead
 * of engine.io's timer per session for the interval plus a new one per ping for the timeout. A ping
 * is a pre-built frame written straight to the TCP socket when nothing waits before it (see
 * sendPing), and the sessions pinged in the same slot answer about together, so that their pongs
 * tend to share the node's wake-ups. Their pongs skip ws's Receiver stream when they come alone in
 * a read (see readPongsDirectly).
 *
 * The semantics are engine.io's (engine.io/build/socket.js: schedulePing, resetPingTimeout,
 * onPacket), each time rounded up to the next slot, never early: the next ping is pingInterval after
 * the last pong (any pong, as engine.io refreshes its interval timer on each); no pong within
 * pingTimeout of a ping closes the session with "ping timeout"; any other packet received while the
 * pong is awaited extends the wait once, to pingTimeout from then. Polling sessions keep engine.io's
 * own heartbeat (a poll cycle costs more than its timers) and move here when they upgrade to
 * WebSocket, from where engine.io's heartbeat stood. Protocol 3 clients ping the server themselves:
 * left to engine.io.
 */
export class HeartbeatSchedule {
  private readonly slotMs: number;
  /**
   * Sessions by the slot (time / slotMs, rounded up) they are due in. A session that moves to
   * another slot is not taken out of the list it was in (an array entry, where a Set's would cost
   * several times as much per idle client): a listed beat whose `slot` is another is skipped.
   */
  private readonly slots = new Map<number, Beat[]>();
  /** The first slot not visited yet. */
  private nextSlot = 0;
  /** The sessions whose heartbeat is kept here. */
  private readonly beats = new Map<EngineSocket, Beat>();
  private timer: NodeJS.Timeout | undefined;
  private readonly onPacket: (this: EngineSocket, packet: { type: string }) => void;
  private readonly onClose: (this: EngineSocket) => void;

  constructor(
    private readonly times: HeartbeatTimes,
    private readonly now: () => number = () => performance.now(),
  ) {
    const period = Math.min(times.pingIntervalMs, times.pingTimeoutMs);
    this.slotMs = Math.max(1, Math.min(MAX_SLOT_MS, Math.floor(period / SLOTS_PER_PERIOD)));
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- engine.io binds `this` to the socket
    const schedule = this;
    this.onPacket = function (packet) {
      schedule.packetReceived(this, packet);
    };
    this.onClose = function () {
      schedule.closed(this);
    };
  }

  /** Sessions whose heartbeat this schedule keeps (for tests: a closed session is dropped). */
  get size(): number {
    return this.beats.size;
  }

  /** A new session (engine.io's "connection"): its heartbeat is kept here once it is over WebSocket. */
  watch(socket: EngineSocket): void {
    if (socket.protocol !== 4) return;
    if (socket.transport.name === "websocket") {
      // Just opened: engine.io would ping pingInterval from now.
      this.takeOver(socket, false, this.now() + this.times.pingIntervalMs);
      return;
    }
    this.followPolling(socket);
  }

  /**
   * While polling, engine.io pings; what it last did is noted so that the upgrade continues from
   * there: the next ping pingInterval after the last pong (or the handshake), or, with a ping
   * unanswered, the timeout pingTimeout after that ping.
   */
  private followPolling(socket: EngineSocket): void {
    let lastPongAt = this.now();
    let pingSentAt: number | undefined;
    const onPacketCreate = (packet: { type: string }) => {
      if (packet.type === "ping") pingSentAt = this.now();
    };
    const onHeartbeat = () => {
      pingSentAt = undefined;
      lastPongAt = this.now();
    };
    const stop = () => {
      socket.off("packetCreate", onPacketCreate);
      socket.off("heartbeat", onHeartbeat);
      socket.off("upgrade", onUpgrade);
      socket.off("close", stop);
    };
    const onUpgrade = () => {
      stop();
      if (socket.readyState !== "open") return;
      if (pingSentAt === undefined) this.takeOver(socket, false, lastPongAt + this.times.pingIntervalMs);
      else this.takeOver(socket, true, pingSentAt + this.times.pingTimeoutMs);
    };
    socket.on("packetCreate", onPacketCreate);
    socket.on("heartbeat", onHeartbeat);
    socket.on("upgrade", onUpgrade);
    socket.on("close", stop);
  }

  private takeOver(socket: EngineSocket, awaitingPong: boolean, dueAt: number): void {
    takeOverHeartbeat(socket);
    readPongsDirectly(socket);
    const beat: Beat = { socket, slot: NOT_DUE, state: awaitingPong ? AWAITING_PONG : 0 };
    this.beats.set(socket, beat);
    if (this.beats.size === 1) this.start();
    this.place(beat, dueAt);
    // Listeners shared by all sessions (engine.io calls them on the socket): no closures per session.
    socket.on("packet", this.onPacket);
    socket.on("close", this.onClose);
  }

  private packetReceived(socket: EngineSocket, packet: { type: string }): void {
    const beat = this.beats.get(socket);
    if (!beat) return;
    if (packet.type === "pong") {
      beat.state = 0;
      this.place(beat, this.now() + this.times.pingIntervalMs);
    } else if (beat.state === AWAITING_PONG) {
      beat.state = AWAITING_PONG | EXTENDED;
      this.place(beat, this.now() + this.times.pingTimeoutMs);
    }
  }

  private closed(socket: EngineSocket): void {
    const beat = this.beats.get(socket);
    if (!beat) return;
    this.beats.delete(socket);
    // Still listed in a slot maybe, until that slot is visited: not holding the session meanwhile.
    beat.socket = undefined;
    beat.slot = NOT_DUE;
    if (this.beats.size === 0) this.stop();
  }

  private place(beat: Beat, dueAt: number): void {
    // Rounded up: never early. A time already past is due in the next slot visited.
    const slot = Math.max(Math.ceil(dueAt / this.slotMs), this.nextSlot);
    if (beat.slot === slot) return;
    beat.slot = slot;
    const due = this.slots.get(slot);
    if (due) due.push(beat);
    else this.slots.set(slot, [beat]);
  }

  private start(): void {
    // Nothing is placed while stopped: visiting starts from now.
    this.nextSlot = Math.floor(this.now() / this.slotMs);
    this.timer = setInterval(() => this.visitDue(), this.slotMs);
    // The sessions' TCP sockets keep the process alive, not their heartbeat.
    this.timer.unref();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    // No session left: whatever is still listed is stale.
    this.slots.clear();
  }

  private visitDue(): void {
    const current = Math.floor(this.now() / this.slotMs);
    for (; this.nextSlot <= current; this.nextSlot++) {
      const due = this.slots.get(this.nextSlot);
      if (!due) continue;
      this.slots.delete(this.nextSlot);
      for (const beat of due) {
        // Listed here but due elsewhere (it moved), listed twice (it moved and came back), or closed.
        if (beat.slot !== this.nextSlot) continue;
        beat.slot = NOT_DUE;
        this.fire(beat);
      }
    }
  }

  private fire(beat: Beat): void {
    const socket = beat.socket;
    if (!socket) return;
    if (beat.state & AWAITING_PONG) {
      // engine.io's "ping timeout"; its "close" drops the session from the schedule.
      closeForPingTimeout(socket);
      return;
    }
    beat.state = AWAITING_PONG;
    this.place(beat, this.now() + this.times.pingTimeoutMs);
    sendPing(socket);
  }
}
