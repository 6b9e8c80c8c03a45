import { EventEmitter } from "node:events";
import type { Message } from "@regio/protocol";
import {
  LinkSet,
  newLinkState,
  type LinkSetEvents,
  type LinkSetOptions,
  type LinkState,
} from "./link-set.ts";
import { DEFAULT_MAX_OPERATION_BYTES } from "./node-link.ts";
import type { OutboxOptions, UnsequencedOperation } from "./outbox.ts";

export interface RegionEndpoint {
  name: string;
  endpoint: URL;
  accessKey: string;
}

export interface RegionalLinksOptions extends Omit<LinkSetOptions, "endpoint" | "accessKey" | "replay"> {
  regions: RegionEndpoint[];
  /** How often the preferred region's return (and, while down, every region) is checked (default 5 s). */
  probeIntervalMs?: number;
  /**
   * A region whose every link is down this long is left for the nearest healthy other region
   * (default 500 ms). Detected from the links themselves: a killed node's link closes at once.
   */
  failoverAfterMs?: number;
  outbox?: OutboxOptions;
}

/**
 * Round-trip times this close count as equal, and the order the regions were given decides (as the
 * global endpoint's, broker/src/global/route-picker.ts): a few milliseconds of jitter must not pick
 * a region by chance when the deployment lists its home region first.
 */
export const REGION_RTT_TIE_MS = 5;

/** Regions nearest first; among those within REGION_RTT_TIE_MS of the nearest, the order given. */
export function nearestFirst<R>(measured: Array<{ region: R; rtt: number }>): R[] {
  const left = [...measured];
  const order: R[] = [];
  while (left.length > 0) {
    const best = Math.min(...left.map((r) => r.rtt));
    const next = left.findIndex((r) => r.rtt <= best + REGION_RTT_TIE_MS);
    order.push(left.splice(next, 1)[0]!.region);
  }
  return order;
}

/**
 * What the adapter and useRegio need from the app server's links, one region (LinkSet) or several
 * (RegionalLinks). Guarantees every implementation gives (test/links/contract.ts checks each):
 * - `sendOperation` numbers operations 1, 2, 3, ... in call order, or throws (PAYLOAD_TOO_LARGE,
 *   BUFFER_FULL) without numbering the operation; every numbered operation reaches the clients it
 *   targets once and in order, also when the link it went on is lost (it is kept until a node
 *   acknowledges it, and re-sent to the next primary);
 * - a request (`request`) gets its answer, re-sent after a lost link when it is a read;
 * - an operation a node refuses for good is dropped and reported as an "error", never retried;
 * - "up" is emitted once linked, "down" for each link lost (its sessions end with it).
 */
export interface Links extends EventEmitter<LinkSetEvents> {
  readonly isUp: boolean;
  readonly maxOperationBytes: number;
  start(): void;
  sendOperation(operation: UnsequencedOperation): number;
  sendToAll(message: Message): number;
  request: LinkSet["request"];
  requestAll: LinkSet["requestAll"];
  requestOn: LinkSet["requestOn"];
  close(): Promise<void>;
}

/**
 * The SDK across regions: it measures the round-trip time to each region's endpoint, links to the
 * nearest healthy region (all its nodes), moves to the next healthy one as soon as the current
 * region's links are all down, and moves back once the preferred (nearest) region answers again.
 * One LinkState is shared across moves, so operations keep their sequence numbers; after a lost
 * region the new one gets the replay window and every unacknowledged operation (its nodes drop what
 * they already have), so nothing the lost region acknowledged but others had not read is lost.
 */
export class RegionalLinks extends EventEmitter<LinkSetEvents> implements Links {
  private readonly state: LinkState;
  private current: { region: RegionEndpoint; set: LinkSet } | undefined;
  private preferred: RegionEndpoint | undefined;
  private failoverTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;

  constructor(private readonly options: RegionalLinksOptions) {
    super();
    if (options.regions.length === 0) throw new Error("RegionalLinks needs at least one region");
    this.state = newLinkState(options.appServerId, options.outbox);
  }

  get isUp(): boolean {
    return this.current?.set.isUp ?? false;
  }

  get maxOperationBytes(): number {
    return this.current?.set.maxOperationBytes ?? DEFAULT_MAX_OPERATION_BYTES;
  }

  /** The region linked now (for diagnostics and tests). */
  get region(): string | undefined {
    return this.current?.region.name;
  }

  start(): void {
    void this.ranked().then((ranked) => {
      // Nobody answers: link to the first region anyway; the links re-try by themselves.
      const best = ranked[0] ?? this.options.regions[0]!;
      this.preferred = best;
      if (!this.current) this.switchTo(best, false);
    });
    this.probeTimer = setInterval(() => void this.probe(), this.options.probeIntervalMs ?? 5000);
    this.probeTimer.unref();
  }

  sendOperation(operation: UnsequencedOperation): number {
    if (this.current) return this.current.set.sendOperation(operation);
    // Not linked yet: kept in the outbox, sent when a region is linked.
    return this.state.outbox.add(operation, this.maxOperationBytes).seq;
  }

  sendToAll(message: Message): number {
    return this.current?.set.sendToAll(message) ?? 0;
  }

  request: LinkSet["request"] = (build, onReply, options) => {
    if (this.current) return this.current.set.request(build, onReply, options);
    const requestId = ++this.state.lastRequestId;
    this.state.requests.set(requestId, { build, onReply, resend: options?.resend ?? true });
    return () => this.state.requests.delete(requestId);
  };

  requestOn: LinkSet["requestOn"] = (link, build, onReply) => {
    if (this.current) return this.current.set.requestOn(link, build, onReply);
    return () => {};
  };

  requestAll: LinkSet["requestAll"] = (build, onReply) => {
    if (this.current) return this.current.set.requestAll(build, onReply);
    return { nodes: 0, cancel: () => {} };
  };

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.probeTimer);
    clearTimeout(this.failoverTimer);
    await this.current?.set.close();
  }

  private setOptions(region: RegionEndpoint, replay = false): LinkSetOptions {
    return { ...this.options, endpoint: region.endpoint, accessKey: region.accessKey, replay };
  }

  /** Round-trip time to a region's /readyz, best of `tries`; Infinity when it is not ready. */
  private async measure(region: RegionEndpoint, tries = 3): Promise<number> {
    return (await this.measureAll([region], tries))[0]!;
  }

  /**
   * Round-trip times to the regions' /readyz, best of `tries` each (Infinity: not ready). The
   * regions are asked in rounds, all at once in each: a stall of this process (a busy machine, a
   * collection) then lands on every region's sample alike instead of on one region's, and cannot
   * make the nearer of two equally near regions look farther than the tie.
   */
  private async measureAll(regions: RegionEndpoint[], tries: number): Promise<number[]> {
    const best = regions.map(() => Infinity);
    const ready = regions.map(() => true);
    for (let round = 0; round < tries; round++) {
      const times = await Promise.all(regions.map((region, i) => (ready[i] ? roundTrip(region) : Infinity)));
      times.forEach((time, i) => {
        if (Number.isFinite(time)) best[i] = Math.min(best[i]!, time);
        else ready[i] = false;
      });
    }
    return best.map((time, i) => (ready[i] ? time : Infinity));
  }

  /** Healthy regions, nearest first (optionally leaving one out). */
  private async ranked(except?: RegionEndpoint, tries = 3): Promise<RegionEndpoint[]> {
    const candidates = this.options.regions.filter((region) => region !== except);
    const times = await this.measureAll(candidates, tries);
    return nearestFirst(
      candidates.map((region, i) => ({ region, rtt: times[i]! })).filter((r) => Number.isFinite(r.rtt)),
    );
  }

  private switchTo(region: RegionEndpoint, afterLoss: boolean): void {
    if (this.closed) return;
    const previous = this.current;
    const set = new LinkSet(this.setOptions(region, afterLoss), this.state);
    set.on("message", (message, link) => this.emit("message", message, link));
    set.on("error", (error) => this.emit("error", error));
    set.on("up", (hello) => this.emit("up", hello));
    set.on("down", (link) => {
      this.emit("down", link);
      if (this.current?.set === set && !set.isUp) this.scheduleFailover(set);
    });
    this.current = { region, set };
    clearTimeout(this.failoverTimer);
    set.start();
    // The old region's sessions end with its links; their clients reconnect where they can.
    if (previous) void previous.set.close();
  }

  /** Every link of the region is down: unless one comes back at once, move to the next region. */
  private scheduleFailover(set: LinkSet): void {
    clearTimeout(this.failoverTimer);
    this.failoverTimer = setTimeout(() => void this.failover(set), this.options.failoverAfterMs ?? 500);
    this.failoverTimer.unref();
  }

  private async failover(set: LinkSet): Promise<void> {
    const current = this.current;
    if (this.closed || !current || current.set !== set || set.isUp) return;
    const [next] = await this.ranked(current.region, 1);
    if (this.current !== current || set.isUp) return;
    if (next) this.switchTo(next, true);
    else this.scheduleFailover(set); // nowhere to go yet: keep trying, here and there
  }

  private async probe(): Promise<void> {
    const current = this.current;
    if (this.probing || this.closed || !current) return;
    this.probing = true;
    try {
      // Back to the preferred (nearest) region once it is healthy again: a move, not a loss.
      if (current.set.isUp && this.preferred && current.region !== this.preferred) {
        if (Number.isFinite(await this.measure(this.preferred)) && this.current === current) {
          this.switchTo(this.preferred, false);
        }
      }
    } finally {
      this.probing = false;
    }
  }
}

/** One GET of a region's /readyz: its round-trip time in ms, or Infinity when it is not ready. */
async function roundTrip(region: RegionEndpoint): Promise<number> {
  const started = performance.now();
  try {
    const response = await fetch(new URL("/readyz", region.endpoint), { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.ok ? performance.now() - started : Infinity;
  } catch {
    return Infinity;
  }
}
