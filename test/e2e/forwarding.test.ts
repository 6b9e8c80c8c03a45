import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { afterEach, describe, expect, inject, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { InProcessBus, type BrokerHandle } from "@regio/broker";
import { FORWARDED_BY_HEADER } from "../../broker/src/node/forward.ts";
import { clientPath } from "@regio/protocol";
import {
  connect,
  HUB,
  startAppServer,
  startTestBroker,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { killNode, pauseProcess, startCliNode, type CliNode } from "../support/cli-node.ts";
import { connected, until } from "../support/events.ts";
import { uniqueTopics } from "../support/topics.ts";

const pollUrl = (node: string, sid: string) =>
  `${node}${clientPath(HUB)}/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;

/** TCP connections process `pid` holds to `port` on this machine (Linux /proc), in any state. */
function connectionsTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const link = (() => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return ""; // closed meanwhile
      }
    })();
    const socket = /^socket:\[(\d+)\]$/.exec(link);
    if (socket) inodes.add(socket[1]!);
  }
  // Columns: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
  return readFileSync(`/proc/${pid}/net/tcp`, "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length > 9 && inodes.has(cols[9]!))
    .filter((cols) => parseInt(cols[2]!.split(":")[1]!, 16) === port).length;
}

/** A polling request for a session of another node is forwarded to it, once, and never waits forever. */
describe("forwarding between nodes", () => {
  const processes: CliNode[] = [];
  const brokers: BrokerHandle[] = [];
  const apps: AppServer[] = [];
  const clients: ClientSocket[] = [];
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.disconnect());
    // Processes first: an app server would wait long for a SIGSTOPped node to close its link.
    await Promise.all(processes.splice(0).map(killNode));
    await Promise.all(apps.splice(0).map(stopAppServer));
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  });

  it("forwards a request one hop only: a request another node forwarded is served where it lands", async () => {
    const bus = new InProcessBus();
    const a = await startTestBroker({ nodeId: "a", replicator: bus.connect("a") });
    const b = await startTestBroker({ nodeId: "b", replicator: bus.connect("b") });
    brokers.push(a, b);
    apps.push(await startAppServer(b));
    await until(() => a.nodes().some((n) => n.nodeId === "b" && n.url === b.url), "a knows where b is");
    // A session on b (a bare Engine.IO handshake), then a message for it sent to a.
    const handshake = await (await fetch(`${b.url}${clientPath(HUB)}/?EIO=4&transport=polling`)).text();
    const { sid } = JSON.parse(handshake.slice(1)) as { sid: string };
    expect(sid.endsWith(".b")).toBe(true);
    const post = (headers: Record<string, string>) =>
      fetch(pollUrl(a.url, sid), { method: "POST", body: "6", headers, signal: AbortSignal.timeout(5000) });
    // First hop: a passes it to b, which holds the session.
    const forwarded = await post({});
    expect(forwarded.status).toBe(200);
    expect(await forwarded.text()).toBe("ok");
    // Marked as forwarded already (by a wrong directory entry somewhere): a does not pass it on.
    const marked = await post({ [FORWARDED_BY_HEADER]: "someone" });
    expect(marked.status).toBe(400);
    expect(await marked.json()).toEqual({ code: 1, message: "Session ID unknown" });
  });

  it("answers 504 for a hung owner node, and drops the forwarded request when the client goes away", async () => {
    const topics = uniqueTopics("fw");
    // Short pings make the forwarding timeout (pingInterval + pingTimeout + 5 s) short.
    const node = async (nodeId: string) => {
      const started = await startCliNode(nodeId, [
        "--port=0",
        "--region=eastus",
        `--kafka=${inject("kafka").eastus!}`,
        `--topic-events=${topics.events}`,
        `--topic-membership=${topics.membership}`,
        `--topic-nodes=${topics.nodes}`,
        "--ping-interval=500",
        "--ping-timeout=500",
      ]);
      processes.push(started);
      return started;
    };
    // One after the other: nodes that start together on new topics can trip over each other.
    const first = await node("h1");
    const second = await node("h2");
    // The app server is given h1 only: that it links to h2 and serves a session there means h1 told
    // it about h2, so h1 knows where h2 is and forwards h2's sessions there. (Until it links, h2
    // relays new sessions to h1.)
    apps.push(await startAppServer({ url: first.url }));
    let client: ClientSocket | undefined;
    await until(async () => {
      const attempt = connect({ url: second.url }, "/", { transports: ["polling"] });
      clients.push(attempt);
      client = await connected(attempt).catch(() => undefined);
      if (client?.io.engine.id.endsWith(".h2")) return true;
      attempt.disconnect();
      return false;
    }, "h2 serves a session itself (the app server linked to it)");
    const sid = client!.io.engine.id;

    await pauseProcess(second.child); // hung: its kernel still accepts connections, it answers nothing
    const started = Date.now();
    const answer = await fetch(pollUrl(first.url, sid), { signal: AbortSignal.timeout(20_000) });
    expect(answer.status).toBe(504);
    expect(((await answer.json()) as { code: string }).code).toBe("NODE_TIMEOUT");
    expect(Date.now() - started).toBeLessThan(500 + 500 + 5000 + 2000);

    // Clients that give up take their forwarded requests with them: no sockets to h2 pile up on h1.
    const [pid, h2Port] = [first.child.pid!, Number(new URL(second.url).port)];
    const aborts = Array.from({ length: 20 }, () => new AbortController());
    const pending = aborts.map((abort) =>
      fetch(pollUrl(first.url, sid), { signal: abort.signal }).catch(() => undefined),
    );
    // (h1 also probes h2's /healthz now and then to measure it: one connection at most, 1 s at most.)
    await until(() => connectionsTo(pid, h2Port) >= 20, "h1 forwards the 20 requests to h2");
    aborts.forEach((abort) => abort.abort());
    await Promise.all(pending);
    await until(() => connectionsTo(pid, h2Port) <= 1, "h1 let go of every forwarded request", 3000);
  }, 60_000);
});
