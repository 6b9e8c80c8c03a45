import { sessionNode } from "../node/forward.ts";
import type { RegionStatus } from "./region-prober.ts";

export interface RouteTarget {
  region: string;
  url: string;
}

/**
 * Round-trip times this close count as equal, and the order the regions were given decides: on
 * one machine (or within one metro) a few milliseconds of jitter must not flip clients between
 * regions.
 */
export const RTT_TIE_MS = 5;

/**
 * Where a client request goes, from the prober's latest view. A new session goes to the nearest
 * healthy region (lowest round-trip time; ties: the order given), to its healthy nodes in turn. A
 * request of an existing session goes to the node its id names while that node is healthy;
 * otherwise to a healthy node of the same region (which forwards it to the owner if the owner still
 * serves), else to the nearest healthy region (whose node answers that the session is unknown, and
 * the client starts a new one).
 */
export class RoutePicker {
  private readonly turns = new Map<string, number>();

  constructor(private readonly regions: () => RegionStatus[]) {}

  /**
   * The target of a request and, for a new session, the targets to try after it, one by one, if
   * the node refuses the connection (it just died, before probes noticed). A request of a session
   * gets none: its session went with its node.
   */
  route(sid: string | undefined): { target: URL; fallback?: () => URL | undefined } | undefined {
    const first = this.pick(sid);
    if (!first) return undefined;
    if (sid) return { target: new URL(first.url) };
    const tried = new Set([first.url]);
    const fallback = () => {
      const next = this.pick(undefined, tried);
      if (next) tried.add(next.url);
      return next ? new URL(next.url) : undefined;
    };
    return { target: new URL(first.url), fallback };
  }

  /** `exclude`: node URLs not to pick (tried already). */
  private pick(sid: string | undefined, exclude: ReadonlySet<string> = new Set()): RouteTarget | undefined {
    const regions = this.regions().map((region) => without(region, exclude));
    const owner = sid ? sessionNode(sid) : undefined;
    if (owner) {
      for (const region of regions) {
        const node = region.nodes.find((n) => n.nodeId === owner);
        if (!node) continue;
        if (node.healthy) return { region: region.name, url: node.url };
        if (region.healthy) return this.inTurn(region);
      }
    }
    const nearest = nearestHealthy(regions);
    return nearest ? this.inTurn(nearest) : undefined;
  }

  private inTurn(region: RegionStatus): RouteTarget {
    const healthy = region.nodes.filter((n) => n.healthy);
    const turn = this.turns.get(region.name) ?? 0;
    this.turns.set(region.name, turn + 1);
    return { region: region.name, url: healthy[turn % healthy.length]!.url };
  }
}

/** The region as if the excluded nodes were down. */
function without(region: RegionStatus, exclude: ReadonlySet<string>): RegionStatus {
  if (exclude.size === 0) return region;
  const nodes = region.nodes.map((n) => (exclude.has(n.url) ? { ...n, healthy: false } : n));
  const rtts = nodes.filter((n) => n.healthy).map((n) => n.rttMs ?? Infinity);
  return {
    ...region,
    nodes,
    healthy: rtts.length > 0,
    rttMs: rtts.length > 0 ? Math.min(...rtts) : undefined,
  };
}

export function nearestHealthy(regions: RegionStatus[]): RegionStatus | undefined {
  const healthy = regions.filter((r) => r.healthy);
  if (healthy.length === 0) return undefined;
  const best = Math.min(...healthy.map((r) => r.rttMs ?? Infinity));
  return healthy.find((r) => (r.rttMs ?? Infinity) <= best + RTT_TIE_MS);
}
