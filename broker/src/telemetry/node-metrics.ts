import type { BatchObservableResult, Meter } from "@opentelemetry/api";
import type { Hub } from "../hub/hub.ts";
import type { Replicator } from "../replication/replicator.ts";

export interface MetricSources {
  hubs(): Iterable<Hub>;
  replicator: Replicator;
  /** This node's own readiness (what /readyz answers). */
  ready(): boolean;
}

/**
 * The node's metrics for operators, read when they are collected (a Prometheus scrape of
 * `/metrics`, an OTLP export): nothing is recorded on the hot path but the plain counters of
 * HubStats. Names are Prometheus's once dots become underscores (counters gain `_total`), with the
 * unit in the name where there is one.
 */
export function registerNodeMetrics(meter: Meter, sources: MetricSources): void {
  const sessions = meter.createObservableUpDownCounter("regio.client.sessions", {
    description: "Engine.IO sessions of clients on this node, by hub and current transport",
  });
  const sockets = meter.createObservableUpDownCounter("regio.client.sockets", {
    description: "Socket.IO connections (a client in a namespace) on this node, by hub",
  });
  const connections = meter.createObservableCounter("regio.client.connections", {
    description: "Engine.IO sessions opened on this node, by hub and the transport they opened with",
  });
  const packets = meter.createObservableCounter("regio.client.packets", {
    description: "Engine.IO messages from clients (in) and to clients (out)",
  });
  const bytes = meter.createObservableCounter("regio.client.bytes", {
    description: "Payload bytes of Engine.IO messages from clients (in) and to clients (out)",
    unit: "By",
  });
  const appLinks = meter.createObservableUpDownCounter("regio.app_links", {
    description: "App servers' links to this node, by hub",
  });
  const linkFrames = meter.createObservableCounter("regio.app_link.frames", {
    description: "App-link frames from app servers (in) and to app servers (out)",
  });
  const linkBytes = meter.createObservableCounter("regio.app_link.bytes", {
    description: "App-link frame bytes from app servers (in) and to app servers (out)",
    unit: "By",
  });
  const operations = meter.createObservableCounter("regio.operations", {
    description:
      "Operations (broadcasts, room operations, serverSideEmit) this node received, by type and source",
  });
  const lag = meter.createObservableGauge("regio.replication.lag_seconds", {
    description: "Age of the newest record this node read from another region",
    unit: "s",
  });
  const reachable = meter.createObservableGauge("regio.replication.reachable", {
    description: "1 while this node reads another region, else 0",
  });
  const errors = meter.createObservableCounter("regio.replication.errors", {
    description: "Failed reads and writes of a region's Kafka, by region",
  });
  const reconnects = meter.createObservableCounter("regio.kafka.reconnects", {
    description: "Kafka consumers set up again after a failure, by region",
  });
  const buffered = meter.createObservableUpDownCounter("regio.publish_buffer.bytes", {
    description: "Events accepted and not yet written to this region's Kafka",
    unit: "By",
  });
  const ready = meter.createObservableGauge("regio.ready", {
    description: "1 while this node is ready (what /readyz says), else 0",
  });

  meter.addBatchObservableCallback(
    (result: BatchObservableResult) => {
      for (const hub of sources.hubs()) {
        const { name, stats } = hub;
        const byTransport = new Map<string, number>();
        let socketCount = 0;
        for (const session of hub.sessions.values()) {
          const transport = session.engineSocket.transport.name;
          byTransport.set(transport, (byTransport.get(transport) ?? 0) + 1);
          socketCount += session.sockets.size;
        }
        for (const transport of new Set(["polling", "websocket", ...byTransport.keys()])) {
          result.observe(sessions, byTransport.get(transport) ?? 0, { hub: name, transport });
        }
        result.observe(sockets, socketCount, { hub: name });
        for (const [transport, count] of stats.connections) {
          result.observe(connections, count, { hub: name, transport });
        }
        const { client, appLink } = stats;
        result.observe(packets, client.packetsIn, { hub: name, direction: "in" });
        result.observe(packets, client.packetsOut, { hub: name, direction: "out" });
        result.observe(bytes, client.bytesIn, { hub: name, direction: "in" });
        result.observe(bytes, client.bytesOut, { hub: name, direction: "out" });
        result.observe(appLinks, hub.links.size, { hub: name });
        result.observe(linkFrames, appLink.framesIn, { hub: name, direction: "in" });
        result.observe(linkFrames, appLink.framesOut, { hub: name, direction: "out" });
        result.observe(linkBytes, appLink.bytesIn, { hub: name, direction: "in" });
        result.observe(linkBytes, appLink.bytesOut, { hub: name, direction: "out" });
        for (const { type, source, count } of stats.operations.values()) {
          result.observe(operations, count, { hub: name, type, source });
        }
      }
      const status = sources.replicator.status();
      for (const [region, peer] of Object.entries(status.peers)) {
        if (peer.lagMs !== undefined) result.observe(lag, peer.lagMs / 1000, { region });
        result.observe(reachable, peer.reachable ? 1 : 0, { region });
      }
      for (const [region, counts] of Object.entries(sources.replicator.counters?.() ?? {})) {
        result.observe(errors, counts.errors, { region });
        result.observe(reconnects, counts.reconnects, { region });
      }
      result.observe(buffered, status.bufferedBytes);
      result.observe(ready, sources.ready() ? 1 : 0);
    },
    [
      sessions,
      sockets,
      connections,
      packets,
      bytes,
      appLinks,
      linkFrames,
      linkBytes,
      operations,
      lag,
      reachable,
      errors,
      reconnects,
      buffered,
      ready,
    ],
  );
}
