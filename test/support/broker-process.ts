import type { ChildProcess } from "node:child_process";
import { startCliNode, type CliNode } from "./cli-node.ts";

export interface NodeProcessOptions {
  nodeId: string;
  region: string;
  /** This region's Kafka bootstrap address. */
  kafka: string;
  /** Other regions' Kafka bootstrap addresses, by region. */
  peers?: Record<string, string>;
  topics: { events: string; membership: string; nodes: string };
  leaseMs?: number;
  /** More `--flag=value` arguments. */
  args?: string[];
}

/** A CLI node process, and when it exits. */
export interface NodeProcess extends CliNode {
  /** Resolves with the exit code (null: ended by a signal) once the process is gone. */
  readonly exited: Promise<number | null>;
}

/**
 * Starts broker node processes (the CLI, see cli-node.ts) and stops every one of them in
 * `stopAll()` (call it in afterEach), whether the test passed or not, started or not.
 */
export class NodeProcesses {
  private readonly children: Array<{ child: ChildProcess; exited: Promise<number | null> }> = [];

  /** Resolves once the node logged "broker listening"; rejects if it exits first. */
  async start(options: NodeProcessOptions): Promise<NodeProcess> {
    const flags = [
      "--port=0",
      `--region=${options.region}`,
      `--kafka=${options.kafka}`,
      `--lease-ms=${options.leaseMs ?? 2000}`,
      `--topic-events=${options.topics.events}`,
      `--topic-membership=${options.topics.membership}`,
      `--topic-nodes=${options.topics.nodes}`,
      ...Object.entries(options.peers ?? {}).map(([region, brokers]) => `--peer=${region}=${brokers}`),
      ...(options.args ?? []),
    ];
    let exited: Promise<number | null> = Promise.resolve(null);
    const node = await startCliNode(options.nodeId, flags, {}, (child) => {
      exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
      this.children.push({ child, exited });
    });
    return { ...node, exited };
  }

  /** SIGCONT (in case it was paused), then SIGKILL every node still running, and waits for each. */
  async stopAll(): Promise<void> {
    const children = this.children.splice(0);
    for (const { child } of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    }
    await Promise.all(children.map(({ exited }) => exited));
  }
}

/** GET /readyz: the status code and the JSON body. */
export async function readiness(url: string): Promise<{ status: number; body: ReadinessBody }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as ReadinessBody };
}

/**
 * Whether a node serves the hub through an app server of its own: ready, with one linked to it
 * (`hubs.<hub>.appServers` in its readiness). Until then a client of that node is relayed, or
 * refused when the node does not know of any app server yet.
 */
export async function servesHub(url: string, hub: string): Promise<boolean> {
  const response = await fetch(`${url}/readyz`).catch(() => undefined);
  if (!response?.ok) return false;
  const body = (await response.json()) as ReadinessBody;
  return (body.hubs?.[hub]?.appServers ?? 0) > 0;
}

export interface ReadinessBody {
  status: string;
  hubs?: Record<string, { appServers: number }>;
  replication: {
    ready: boolean;
    bufferedBytes: number;
    detail: string;
    peers?: Record<string, { reachable: boolean; lagMs?: number; detail?: string }>;
  };
}
