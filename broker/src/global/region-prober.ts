import { READY_PATH } from "@regio/protocol";
import type { RegionSpec } from "./config.ts";

export interface ProbeOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Failed probes in a row before a healthy node is out. */
  downAfter: number;
  /** Successful probes in a row before an unhealthy node is back. */
  upAfter: number;
}

/** What the status page shows of one node. */
export interface NodeStatus {
  url: string;
  /** From the node's /readyz body; unknown until it answered once. */
  nodeId?: string;
  healthy: boolean;
  /** Smoothed round-trip time of its /readyz, ms; unknown until a probe succeeded, and while it is out. */
  rttMs?: number;
  lastError?: string;
  lastProbeAt?: string;
  /** Probes in a row that failed (or succeeded): what the thresholds count. */
  consecutiveFailures: number;
  consecutiveSuccesses: number;
}

export interface RegionStatus {
  name: string;
  /** Healthy while any of its nodes is. */
  healthy: boolean;
  /** The lowest round-trip time of its healthy nodes. */
  rttMs?: number;
  nodes: NodeStatus[];
}

export type HealthChange = { region: string; node: NodeStatus };

/** Weight of a new RTT sample: smooths out one slow answer on a busy machine. */
const RTT_SMOOTHING = 0.3;

/** One node's probe results, and the thresholds that turn them into healthy or not. */
class ProbedNode {
  readonly status: NodeStatus;
  private probed = false;
  inFlight = false;

  constructor(url: string) {
    this.status = { url, healthy: false, consecutiveFailures: 0, consecutiveSuccesses: 0 };
  }

  /** Records a probe; true when the node's health changed. */
  record(result: ProbeResult, options: ProbeOptions): boolean {
    const status = this.status;
    const was = status.healthy;
    status.lastProbeAt = new Date().toISOString();
    if (result.nodeId) status.nodeId = result.nodeId;
    if (result.ok) {
      status.consecutiveSuccesses++;
      status.consecutiveFailures = 0;
      status.rttMs =
        status.rttMs === undefined
          ? result.rttMs
          : status.rttMs + RTT_SMOOTHING * (result.rttMs - status.rttMs);
      // The first probe decides at once: a new endpoint should not wait for upAfter probes.
      if (!this.probed || status.consecutiveSuccesses >= options.upAfter) status.healthy = true;
    } else {
      status.consecutiveFailures++;
      status.consecutiveSuccesses = 0;
      status.lastError = result.error;
      if (!this.probed || status.consecutiveFailures >= options.downAfter) {
        status.healthy = false;
        // A node that is out has no round-trip time: the one from before the outage would weigh on
        // its first samples when it is back (a restart elsewhere, a new route), and the status page
        // would show it as current.
        status.rttMs = undefined;
      }
    }
    this.probed = true;
    return status.healthy !== was;
  }
}

type ProbeResult =
  { ok: true; rttMs: number; nodeId?: string } | { ok: false; error: string; nodeId?: string };

/**
 * Probes every node's /readyz (200 = healthy) at a fixed interval and keeps each node's health,
 * round-trip time and last error. A node is out after `downAfter` failed probes in a row and back
 * after `upAfter` good ones; a region is healthy while any of its nodes is.
 */
export class RegionProber {
  private readonly regions: { name: string; nodes: ProbedNode[] }[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    specs: RegionSpec[],
    private readonly options: ProbeOptions,
    private readonly onChange: (change: HealthChange) => void = () => {},
  ) {
    this.regions = specs.map((spec) => ({
      name: spec.name,
      nodes: spec.nodes.map((url) => new ProbedNode(url)),
    }));
  }

  /** Probes every node now and then every interval; resolves once the first round is in. */
  async start(): Promise<void> {
    this.timer = setInterval(() => void this.probeAll(), this.options.intervalMs);
    await this.probeAll();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Every region in the order given, with its nodes. */
  status(): RegionStatus[] {
    return this.regions.map(({ name, nodes }) => {
      const healthy = nodes.filter((n) => n.status.healthy);
      const rtts = healthy.map((n) => n.status.rttMs ?? Infinity);
      return {
        name,
        healthy: healthy.length > 0,
        rttMs: rtts.length > 0 ? roundTenth(Math.min(...rtts)) : undefined,
        nodes: nodes.map((n) => ({ ...n.status, rttMs: roundTenth(n.status.rttMs) })),
      };
    });
  }

  private async probeAll(): Promise<void> {
    await Promise.all(
      this.regions.flatMap((region) => region.nodes.map((node) => this.probe(region.name, node))),
    );
  }

  private async probe(region: string, node: ProbedNode): Promise<void> {
    // A slow node is not probed twice at once: its probe's own timeout settles it.
    if (node.inFlight) return;
    node.inFlight = true;
    try {
      const result = await probeOnce(node.status.url, this.options.timeoutMs);
      if (node.record(result, this.options)) this.onChange({ region, node: { ...node.status } });
    } finally {
      node.inFlight = false;
    }
  }
}

async function probeOnce(url: string, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  try {
    const response = await fetch(url + READY_PATH, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    const rttMs = performance.now() - started;
    const nodeId = nodeIdOf(text);
    if (response.ok) return { ok: true, rttMs, nodeId };
    return { ok: false, nodeId, error: `${READY_PATH} answered ${response.status}: ${text.slice(0, 300)}` };
  } catch (error) {
    if (error instanceof Error && error.name === "TimeoutError")
      return { ok: false, error: `no answer within ${timeoutMs} ms` };
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const code = (cause as { code?: unknown }).code;
    return { ok: false, error: typeof code === "string" ? code : String(cause) };
  }
}

function roundTenth(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 10) / 10;
}

function nodeIdOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed !== null && typeof parsed === "object" && "nodeId" in parsed) {
      return typeof parsed.nodeId === "string" ? parsed.nodeId : undefined;
    }
  } catch {
    // Not a broker's body (another service on that port): no node id to learn.
  }
  return undefined;
}
