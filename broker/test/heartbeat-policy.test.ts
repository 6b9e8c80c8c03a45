import { describe, expect, it } from "vitest";
import { NodeId } from "@regio/protocol";
import { HeartbeatPolicy, defaultPatterns } from "../src/replication/heartbeat-policy.ts";
import { NodeDirectory, type GoneHow } from "../src/replication/node-directory.ts";
import type { NodeHeartbeat } from "../src/replication/replicator.ts";

const leaseMs = 1000;
const self = { nodeId: NodeId("me"), url: "http://10.0.0.1:7400" };
const beat = (nodeId: string, changes: Partial<NodeHeartbeat> = {}): NodeHeartbeat => ({
  nodeId: NodeId(nodeId),
  incarnation: "i1",
  region: "eastus",
  url: "http://10.0.0.1:7401",
  appServers: {},
  sessions: 0,
  at: Date.now(),
  ...changes,
});

describe("HeartbeatPolicy", () => {
  const policy = (urlPatterns?: string[]) => new HeartbeatPolicy({ leaseMs, self: () => self, urlPatterns });

  it("by default believes URLs of this node's scheme and host, any port", () => {
    expect(defaultPatterns("http://10.0.0.1:7400")).toEqual(["http://10.0.0.1:*", "http://10.0.0.1"]);
    expect(policy().reject(beat("b"))).toBeUndefined();
    expect(policy().reject(beat("b", { url: "http://10.0.0.2:7400" }))).toMatch(/URL/);
    expect(policy().reject(beat("b", { url: "https://10.0.0.1:7400" }))).toMatch(/URL/);
    // User info would make a naive prefix match see a trusted host.
    expect(policy().reject(beat("b", { url: "http://10.0.0.1:7400@evil.example" }))).toMatch(/URL/);
    expect(policy().reject(beat("b", { url: "http://10.0.0.1:7400/../x?y" }))).toMatch(/URL/);
    expect(policy().reject(beat("b", { url: "not a url" }))).toMatch(/URL/);
  });

  it("believes URLs matching any of the configured globs", () => {
    const configured = policy(["https://*.regio.example.com", "http://10.1.*:7400"]);
    expect(configured.reject(beat("b", { url: "https://node-7.regio.example.com" }))).toBeUndefined();
    expect(configured.reject(beat("b", { url: "http://10.1.3.4:7400" }))).toBeUndefined();
    expect(configured.reject(beat("b", { url: "https://regio.example.com.evil.example" }))).toMatch(/URL/);
    expect(configured.reject(beat("b", { url: "https://x.regio.example.com/evil" }))).toMatch(/URL/);
    expect(configured.reject(beat("b", { url: "http://10.0.0.1:7401" }))).toMatch(/URL/);
  });

  it("refuses a heartbeat more than a lease ahead, and another node naming this node's URL", () => {
    expect(policy().reject(beat("b", { at: Date.now() + 2 * leaseMs }))).toMatch(/ahead/);
    expect(policy().reject(beat("b", { at: Date.now() + leaseMs / 2 }))).toBeUndefined();
    expect(policy().reject(beat("b", { url: "http://10.0.0.1:7400/" }))).toMatch(/own URL/);
  });
});

describe("NodeDirectory", () => {
  const directory = () => {
    const events: string[] = [];
    const nodes = new NodeDirectory({
      self: () => beat("me", { url: self.url }),
      leaseMs,
      policy: new HeartbeatPolicy({ leaseMs, self: () => self }),
      onGone: (id: string, how: GoneHow) => events.push(`gone ${id} ${how}`),
      onJoined: (h) => events.push(`joined ${h.nodeId} ${h.incarnation}`),
      onRejected: (h, reason) => events.push(`rejected ${h.nodeId}: ${reason}`),
    });
    return { nodes, events };
  };

  it("takes a goodbye only from the start that is alive", () => {
    const { nodes, events } = directory();
    nodes.update(beat("b", { incarnation: "i2" }));
    nodes.update(beat("b", { incarnation: "i1", leaving: true }));
    expect(nodes.isAlive(NodeId("b"))).toBe(true);
    nodes.update(beat("b", { incarnation: "i2", leaving: true }));
    expect(nodes.isAlive(NodeId("b"))).toBe(false);
    expect(events).toEqual(["joined b i2", "gone b left"]);
    nodes.close();
  });

  it("reports refused heartbeats and does not believe them", () => {
    const { nodes, events } = directory();
    nodes.update(beat("b", { url: "http://evil.example:80" }));
    expect(nodes.isAlive(NodeId("b"))).toBe(false);
    expect(events).toEqual(["rejected b: its URL does not match the node URL pattern"]);
    nodes.close();
  });
});
