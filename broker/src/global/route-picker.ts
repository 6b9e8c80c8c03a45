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

  pick(sid: string | undefined): RouteTarget | undefined {
    const regions = this.regions();
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

export function nearestHealthy(regions: RegionStatus[]): RegionStatus | undefined {
  const healthy = regions.filter((r) => r.healthy);
  if (healthy.length === 0) return undefined;
  const best = Math.min(...healthy.map((r) => r.rttMs ?? Infinity));
  return healthy.find((r) => (r.rttMs ?? Infinity) <= best + RTT_TIE_MS);
}
