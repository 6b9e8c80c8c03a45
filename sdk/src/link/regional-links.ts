import { EventEmitter } from "node:events";
import type { Message } from "@regio/protocol";
import {
  LinkSet,
  newLinkState,
  sequence,
  type LinkSetEvents,
  type UnsequencedOperation,
} from "./link-set.ts";
import type { NodeLinkOptions } from "./node-link.ts";

export interface RegionEndpoint {
  name: string;
  endpoint: URL;
  accessKey: string;
}

export interface RegionalLinksOptions extends Omit<NodeLinkOptions, "endpoint" | "accessKey"> {
  regions: RegionEndpoint[];
  /** How often the current region's health and the preferred region's return are checked (default 5 s). */
  probeIntervalMs?: number;
  /** A region whose links have all been down this long is left for the next healthy one (default 3 s). */
  failoverAfterMs?: number;
}

/** What the adapter and useRegio need from the app server's links, one region or several. */
export interface Links extends EventEmitter<LinkSetEvents> {
  readonly isUp: boolean;
  start(): void;
  sendOperation(operation: UnsequencedOperation): number;
  sendToAll(message: Message): number;
  request: LinkSet["request"];
  requestAll: LinkSet["requestAll"];
  close(): Promise<void>;
}

/**
 * The SDK across regions: it measures the round-trip time to each region's endpoint, links to the
 * nearest healthy region (all its nodes), moves to the next healthy one when the current region's
 * links stay down, and moves back once the preferred (nearest) region answers again. One LinkState
 * is shared across moves, so operations keep their sequence numbers and unacknowledged ones are
 * re-sent to the new region: nothing is lost, and order holds across the move.
 */
export class RegionalLinks extends EventEmitter<LinkSetEvents> implements Links {
  private readonly state = newLinkState();
  private current: { region: RegionEndpoint; set: LinkSet } | undefined;
  private preferred: RegionEndpoint | undefined;
  private downSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;

  constructor(private readonly options: RegionalLinksOptions) {
    super();
    if (options.regions.length === 0) throw new Error("RegionalLinks needs at least one region");
  }

  get isUp(): boolean {
    return this.current?.set.isUp ?? false;
  }

  /** The region linked now (for diagnostics and tests). */
  get region(): string | undefined {
    return this.current?.region.name;
  }

  start(): void {
    void this.chooseAndSwitch().then(() => {
      this.preferred = this.current?.region;
    });
    this.timer = setInterval(() => void this.probe(), this.options.probeIntervalMs ?? 5000);
    this.timer.unref();
  }

  sendOperation(operation: UnsequencedOperation): number {
    if (this.current) return this.current.set.sendOperation(operation);
    return sequence(this.state, operation).seq; // sent when a region is linked
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

  requestAll: LinkSet["requestAll"] = (build, onReply) => {
    if (this.current) return this.current.set.requestAll(build, onReply);
    return { nodes: 0, cancel: () => {} };
  };

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.current?.set.close();
  }

  /** Round-trip time to a region's /healthz, best of three; Infinity when it does not answer. */
  private async measure(region: RegionEndpoint): Promise<number> {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      try {
        const response = await fetch(new URL("/healthz", region.endpoint), {
          signal: AbortSignal.timeout(2000),
        });
        await response.arrayBuffer();
        if (response.ok) best = Math.min(best, performance.now() - started);
      } catch {
        return Infinity;
      }
    }
    return best;
  }

  private async chooseAndSwitch(): Promise<void> {
    const times = await Promise.all(this.options.regions.map((region) => this.measure(region)));
    const ranked = this.options.regions
      .map((region, i) => ({ region, rtt: times[i]! }))
      .filter((r) => Number.isFinite(r.rtt))
      .sort((a, b) => a.rtt - b.rtt);
    // Nobody answers: link to the first region anyway; the links re-try by themselves.
    const best = ranked[0]?.region ?? this.current?.region ?? this.options.regions[0]!;
    if (best !== this.current?.region) this.switchTo(best);
  }

  private switchTo(region: RegionEndpoint): void {
    if (this.closed) return;
    const previous = this.current;
    const set = new LinkSet(
      { ...this.options, endpoint: region.endpoint, accessKey: region.accessKey },
      this.state,
    );
    set.on("message", (message, link) => this.emit("message", message, link));
    set.on("down", (link) => this.emit("down", link));
    set.on("error", (error) => this.emit("error", error));
    set.on("up", (hello) => {
      this.downSince = undefined;
      this.emit("up", hello);
    });
    this.current = { region, set };
    this.downSince = undefined;
    set.start();
    // The old region's sessions end with its links; their clients reconnect where they can.
    if (previous) void previous.set.close();
  }

  private async probe(): Promise<void> {
    if (this.probing || this.closed || !this.current) return;
    this.probing = true;
    try {
      if (!this.current.set.isUp) {
        this.downSince ??= Date.now();
        if (Date.now() - this.downSince >= (this.options.failoverAfterMs ?? 3000))
          await this.chooseAndSwitch();
      } else if (this.preferred && this.current.region !== this.preferred) {
        if (Number.isFinite(await this.measure(this.preferred))) this.switchTo(this.preferred);
      }
    } finally {
      this.probing = false;
    }
  }
}
