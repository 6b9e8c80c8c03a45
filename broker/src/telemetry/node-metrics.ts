import type { Hub } from "../hub/hub.ts";
import type { Replicator } from "../replication/replicator.ts";

export interface MetricSources {
  hubs(): Iterable<Hub>;
  replicator: Replicator;
  /** This node's own readiness (what /readyz answers). */
  ready(): boolean;
}

export type MetricKind = "counter" | "updowncounter" | "gauge";

export interface MetricDefinition {
  /** The OpenTelemetry name; Prometheus's is the same with `_` for `.` (and `_total` for counters). */
  name: string;
  kind: MetricKind;
  description: string;
  unit?: string;
}

/**
 * The node's metrics for operators. Nothing is recorded on the hot path but the plain counters of
 * HubStats: every figure is read when it is collected (a scrape of `/metrics`, an OTLP export).
 * Names carry their unit where there is one, so that they read the same in Prometheus.
 */
export const NODE_METRICS = {
  sessions: {
    name: "regio.client.sessions",
    kind: "updowncounter",
    description: "Engine.IO sessions of clients on this node, by hub and current transport",
  },
  sockets: {
    name: "regio.client.sockets",
    kind: "updowncounter",
    description: "Socket.IO connections (a client in a namespace) on this node, by hub",
  },
  connections: {
    name: "regio.client.connections",
    kind: "counter",
    description: "Engine.IO sessions opened on this node, by hub and the transport they opened with",
  },
  packets: {
    name: "regio.client.packets",
    kind: "counter",
    description: "Engine.IO messages from clients (in) and to clients (out)",
  },
  bytes: {
    name: "regio.client.bytes",
    kind: "counter",
    description: "Payload bytes of Engine.IO messages from clients (in) and to clients (out)",
    unit: "By",
  },
  appLinks: {
    name: "regio.app_links",
    kind: "updowncounter",
    description: "App servers' links to this node, by hub",
  },
  linkFrames: {
    name: "regio.app_link.frames",
    kind: "counter",
    description: "App-link frames from app servers (in) and to app servers (out)",
  },
  linkBytes: {
    name: "regio.app_link.bytes",
    kind: "counter",
    description: "App-link frame bytes from app servers (in) and to app servers (out)",
    unit: "By",
  },
  operations: {
    name: "regio.operations",
    kind: "counter",
    description:
      "Operations (broadcasts, room operations, serverSideEmit) this node received, by type and source",
  },
  lag: {
    name: "regio.replication.lag_seconds",
    kind: "gauge",
    description: "Age of the newest record this node read from another region",
    unit: "s",
  },
  reachable: {
    name: "regio.replication.reachable",
    kind: "gauge",
    description: "1 while this node reads another region, else 0",
  },
  errors: {
    name: "regio.replication.errors",
    kind: "counter",
    description: "Failed reads and writes of a region's Kafka, by region",
  },
  reconnects: {
    name: "regio.kafka.reconnects",
    kind: "counter",
    description: "Kafka consumers set up again after a failure, by region",
  },
  buffered: {
    name: "regio.publish_buffer.bytes",
    kind: "updowncounter",
    description: "Events accepted and not yet written to this region's Kafka",
    unit: "By",
  },
  ready: {
    name: "regio.ready",
    kind: "gauge",
    description: "1 while this node is ready (what /readyz says), else 0",
  },
} as const satisfies Record<string, MetricDefinition>;

export type NodeMetric = keyof typeof NODE_METRICS;
export type Observe = (metric: NodeMetric, value: number, attributes?: Record<string, string>) => void;

/** Every figure of the node now, handed to `observe`. */
export function collectNodeMetrics(sources: MetricSources, observe: Observe): void {
  for (const hub of sources.hubs()) {
    const { name, stats } = hub;
    const byTransport = new Map<string, number>([
      ["polling", 0],
      ["websocket", 0],
    ]);
    let sockets = 0;
    for (const session of hub.sessions.values()) {
      const transport = session.engineSocket.transport.name;
      byTransport.set(transport, (byTransport.get(transport) ?? 0) + 1);
      sockets += session.sockets.size;
    }
    for (const [transport, count] of byTransport) observe("sessions", count, { hub: name, transport });
    observe("sockets", sockets, { hub: name });
    for (const [transport, count] of stats.connections)
      observe("connections", count, { hub: name, transport });
    const { client, appLink } = stats;
    observe("packets", client.packetsIn, { hub: name, direction: "in" });
    observe("packets", client.packetsOut, { hub: name, direction: "out" });
    observe("bytes", client.bytesIn, { hub: name, direction: "in" });
    observe("bytes", client.bytesOut, { hub: name, direction: "out" });
    observe("appLinks", hub.links.size, { hub: name });
    observe("linkFrames", appLink.framesIn, { hub: name, direction: "in" });
    observe("linkFrames", appLink.framesOut, { hub: name, direction: "out" });
    observe("linkBytes", appLink.bytesIn, { hub: name, direction: "in" });
    observe("linkBytes", appLink.bytesOut, { hub: name, direction: "out" });
    for (const { type, source, count } of stats.operations.values()) {
      observe("operations", count, { hub: name, type, source });
    }
  }
  const status = sources.replicator.status();
  for (const [region, peer] of Object.entries(status.peers)) {
    if (peer.lagMs !== undefined) observe("lag", peer.lagMs / 1000, { region });
    observe("reachable", peer.reachable ? 1 : 0, { region });
  }
  for (const [region, counts] of Object.entries(sources.replicator.counters?.() ?? {})) {
    observe("errors", counts.errors, { region });
    observe("reconnects", counts.reconnects, { region });
  }
  observe("buffered", status.bufferedBytes);
  observe("ready", sources.ready() ? 1 : 0);
}

/**
 * The node's metrics in Prometheus's text format (0.0.4), as `/metrics` serves them. Written here
 * rather than by OpenTelemetry's Prometheus exporter: a node that exports nothing loads no
 * OpenTelemetry SDK at all (docs/benchmarks.md: loading it costs fan-out throughput).
 */
export function prometheusText(sources: MetricSources): string {
  const samples = new Map<NodeMetric, string[]>();
  collectNodeMetrics(sources, (metric, value, attributes = {}) => {
    const labels = Object.entries(attributes)
      .map(
        ([key, label]) =>
          `${key}="${label.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`,
      )
      .join(",");
    const lines = samples.get(metric) ?? [];
    lines.push(`${prometheusName(NODE_METRICS[metric])}${labels ? `{${labels}}` : ""} ${value}`);
    samples.set(metric, lines);
  });
  const out: string[] = [];
  for (const [metric, lines] of samples) {
    const definition = NODE_METRICS[metric];
    const name = prometheusName(definition);
    out.push(`# HELP ${name} ${definition.description}`);
    out.push(`# TYPE ${name} ${definition.kind === "counter" ? "counter" : "gauge"}`);
    out.push(...lines);
  }
  return out.join("\n") + "\n";
}

function prometheusName(definition: MetricDefinition): string {
  const name = definition.name.replace(/\./g, "_");
  return definition.kind === "counter" ? `${name}_total` : name;
}
