/**
 * `npm run bench`: runs the benchmarks on purpose (never part of `npm test`) and writes the numbers
 * to docs/benchmarks.md. Compare numbers measured in the same run; this machine is shared and noisy.
 */
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { crossRegionLatency } from "./cross-region-latency.ts";
import { fanout, type FanoutResult } from "./fanout.ts";

const fmt = (ms: number) => ms.toFixed(2);
const latency = await crossRegionLatency();
const fanouts: Array<[FanoutResult, FanoutResult]> = [];
for (const perTick of [50, 1])
  fanouts.push([
    await fanout("plain", 300, 200, 100, perTick),
    await fanout("regio", 300, 200, 100, perTick),
  ]);
const rate = (r: FanoutResult) => Math.round(r.deliveriesPerCpuSecond).toLocaleString("en-US");
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;

const report = `# Benchmarks

Run with \`npm run bench\` (it starts its own Kafkas and brokers on 127.0.0.1 and stops them);
it rewrites this file. Measured ${new Date().toISOString().slice(0, 10)} on ${machine}. The machine is
shared and noisy: compare the numbers of one run with each other, not across runs.

## Cross-region delivery latency (bench/cross-region-latency.ts)

Two regions, each with its own Kafka (3.9, single node, KRaft) and one broker node. An app server
linked in eastus emits ${latency.messages} timestamped broadcasts, one every ${latency.intervalMs} ms (after a
warm-up). One WebSocket client sits on the eastus node (the node that receives the broadcast from
the app server: same-node delivery), one on the westeurope node (delivered through eastus's Kafka:
produce with acks=all, then the westeurope node's consumer). Latency = receive time - send time,
both in the benchmark process.

| path | p50 (ms) | p99 (ms) | max (ms) |
| --- | --- | --- | --- |
| same node | ${fmt(latency.sameNode.p50)} | ${fmt(latency.sameNode.p99)} | ${fmt(latency.sameNode.max)} |
| cross region (via Kafka) | ${fmt(latency.crossRegion.p50)} | ${fmt(latency.crossRegion.p99)} | ${fmt(latency.crossRegion.max)} |
| added by crossing regions | ${fmt(latency.crossRegion.p50 - latency.sameNode.p50)} | ${fmt(latency.crossRegion.p99 - latency.sameNode.p99)} | |

Both "regions" run on one machine, so no network distance is included: in a real deployment the
cross-region path adds the round trip between the regions to this.

## Broadcast fan-out, server CPU per delivery (bench/fanout.ts)

${fanouts[0]![0].clients} WebSocket clients (socket.io-client, in the benchmark process) receive ${fanouts[0]![0].messages} broadcasts of 100 bytes.
The server side runs in a child process and only its CPU is counted, from the first emit until every
client has every message: plain socket.io (a socket.io Server on an HTTP server), or Regio (a
broker node and an app server using it, in the same process, so Regio pays for both).

| broadcasts per tick | plain socket.io (deliveries / CPU-second) | Regio (deliveries / CPU-second) | Regio / plain |
| --- | --- | --- | --- |
${fanouts.map(([plain, regio]) => `| ${plain.perTick} | ${rate(plain)} | ${rate(regio)} | ${(regio.deliveriesPerCpuSecond / plain.deliveriesPerCpuSecond).toFixed(2)} |`).join("\n")}

Regio encodes a broadcast once in the SDK, builds its WebSocket frame once on the node, and corks
each client's TCP socket for the rest of the tick, so a burst leaves in one write per client instead
of one per message. At one broadcast per tick both are bound by one syscall per delivery.
`;
writeFileSync(new URL("../docs/benchmarks.md", import.meta.url), report);
console.log(report);
