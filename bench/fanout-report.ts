/** The fan-out sweep's section of docs/benchmarks.md, and how many broadcasts each run sends. */
import type { FanoutResult, FanoutServer } from "./fanout.ts";
import type { Goal } from "./goals.ts";

/**
 * Enough deliveries per run for a CPU figure well above the timer's grain, few enough to keep the
 * sweep within minutes: about 200,000 at one broadcast per tick (every delivery its own write
 * in one process), 500,000 at 50 (two ticks at least), and four times as many where broadcasts
 * share writes (the raw ceiling at 50 per tick, Regio as deployed), or the figure would be a few
 * milliseconds of CPU.
 */
export function fanoutMessages(clients: number, server: FanoutServer, perTick: number): number {
  const shared = server === "regio" || (server === "ws" && perTick > 1);
  const messages =
    perTick === 1
      ? Math.max(10, Math.round(200_000 / clients))
      : Math.max(2 * perTick, Math.round(500_000 / clients));
  return shared ? messages * 4 : messages;
}

const rate = (r: FanoutResult | undefined) =>
  r ? Math.round(r.deliveriesPerCpuSecond).toLocaleString("en-US") : "-";
const ratio = (a: FanoutResult | undefined, b: FanoutResult | undefined) =>
  a && b ? (a.deliveriesPerCpuSecond / b.deliveriesPerCpuSecond).toFixed(2) : "-";

export function fanoutSection(results: FanoutResult[]): string {
  const find = (mode: FanoutServer, clients: number, perTick: number) =>
    results.find((r) => r.mode === mode && r.clients === clients && r.perTick === perTick);
  const rows: string[] = [];
  for (const perTick of [...new Set(results.map((r) => r.perTick))].sort((a, b) => b - a)) {
    for (const clients of [...new Set(results.map((r) => r.clients))].sort((a, b) => a - b)) {
      const [plain, regio, oneProcess, ws] = (["plain", "regio", "regio-one-process", "ws"] as const).map(
        (m) => find(m, clients, perTick),
      );
      rows.push(
        `| ${clients.toLocaleString("en-US")} | ${perTick} | ${rate(plain)} | ${rate(regio)} | ${rate(oneProcess)} | ${rate(ws)} | ${ratio(regio, plain)} | ${ratio(regio, ws)} | ${ratio(oneProcess, plain)} | ${ratio(oneProcess, ws)} |`,
      );
    }
  }
  return `## Broadcast fan-out, server CPU per delivery (bench/fanout.ts)

Deliveries per server CPU-second, for broadcasts of 100 bytes to every client, by audience size and
broadcasts per tick. The clients are WebSocket clients in child processes of the benchmark (up to
2,500 each, each process from its own 127.0.0.x source address), speaking just enough Engine.IO and
Socket.IO to join and count events (bench/fanout-clients.ts). The server side runs in a process of
its own and only its CPU is counted, from the first broadcast until every client has every one
(after an uncounted warm-up of a tenth as many; each run about 200,000 deliveries at one broadcast
per tick, 500,000 or more at 50, four times as many for the ceiling at 50 and for Regio as deployed): plain socket.io (a socket.io Server on an HTTP
server, \`io.emit\`); Regio as deployed (a broker node, and an app server using it in a process of
its own: the two processes' CPU summed, so Regio pays for both); Regio in one process (the broker
node and the app server in the same process); and the raw \`ws\` ceiling (a bare \`ws\` server that
builds a tick's frames once, concatenates them once and writes them to each socket with one write:
no Socket.IO at all). The app server emits its broadcasts as plain socket.io does, that many in each
turn of its event loop, as fast as it can.

| clients | broadcasts per tick | plain socket.io | Regio | Regio, one process | raw ws ceiling | Regio / plain | Regio / ceiling | one process / plain | one process / ceiling |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join("\n")}

![Deliveries per server CPU-second against audience size](fanout-chart.svg)

On a node, the clients a broadcast reaches are listed once per target while the membership view
stays the same; each packet is framed once; and what each WebSocket client is given in a tick waits
for the end of the tick, where clients given the same frames in the same order share one buffer of
them, concatenated once and written with one write per client, straight to its TCP socket when
engine.io and ws have nothing queued before it ([ADR 0010](adr/0010-one-write-per-client-per-tick.md): the design, the
guarantees it keeps, and its numbers before and after).

As deployed, the node is a stage of its own: while it writes one broadcast to its clients, the app
server goes on emitting, and the broadcasts that reach the node together (one read of the app link)
leave together, one write per client for all of them ([ADR 0014](adr/0014-fan-out-measured-as-deployed.md)). So at one broadcast per tick, too, a client
is written to far fewer times than it is given broadcasts, and Regio goes past the ceiling, whose
definition is one write per broadcast. Nothing waits for this: a broadcast is written at the end of
the tick it arrives in; it is what a node under more broadcasts than it can write one by one does.
With the app server in the node's process the two alternate (the app emits one, the node writes
it), every broadcast is written on its own, and Regio pays per client what the ceiling pays plus
its own bookkeeping (the "one process" columns); with few clients it also pays a fixed cost per
broadcast that plain socket.io does not (the app link both ways, the sequence gate, the
replication log), which the clients' writes do not cover.

([chart](fanout-chart.svg): both axes logarithmic; solid lines 50 broadcasts per tick, dashed 1.)
Reproduce with \`npm run bench -- fanout\` (4 to 5 minutes here): it prints a line per run and rewrites
this section and the chart.`;
}

/**
 * Issue 11's fan-out goals: at 10,000 clients, half the ceiling at 50 per tick and the ceiling's own
 * figure at 1; never behind plain socket.io at any audience. Regio as deployed, and again in one
 * process (no coalescing between broadcasts: see the section's prose).
 */
export function fanoutGoals(results: FanoutResult[]): Goal[] {
  const find = (mode: FanoutServer, clients: number, perTick: number) =>
    results.find((r) => r.mode === mode && r.clients === clients && r.perTick === perTick);
  const goals: Goal[] = [];
  const largest = Math.max(...results.map((r) => r.clients));
  for (const [mode, label] of [
    ["regio", ""],
    ["regio-one-process", " (Regio in one process)"],
  ] as const) {
    for (const [perTick, target] of [
      [50, 0.5],
      [1, 1],
    ] as const) {
      const regio = find(mode, largest, perTick);
      const ceiling = find("ws", largest, perTick);
      if (!regio || !ceiling) continue;
      const value = regio.deliveriesPerCpuSecond / ceiling.deliveriesPerCpuSecond;
      goals.push({
        scenario: "fanout",
        figure: `fan-out to ${largest.toLocaleString("en-US")} clients, ${perTick} per tick: Regio / raw ws ceiling${label}`,
        target: `at least ${target.toFixed(1)}`,
        measured: value.toFixed(2),
        met: value >= target,
        beyondIssue: mode === "regio-one-process",
      });
    }
    const ratios = results
      .filter((r) => r.mode === mode)
      .map((r) => ({ r, plain: find("plain", r.clients, r.perTick) }))
      .filter((x) => x.plain)
      .map(({ r, plain }) => ({ r, value: r.deliveriesPerCpuSecond / plain!.deliveriesPerCpuSecond }));
    if (ratios.length === 0) continue;
    const lowest = ratios.reduce((a, b) => (b.value < a.value ? b : a));
    goals.push({
      scenario: "fanout",
      figure: `fan-out, Regio / plain socket.io at every audience and 1 and 50 per tick, lowest${label}`,
      target: "at least 1.0",
      measured: `${lowest.value.toFixed(2)} (${lowest.r.clients.toLocaleString("en-US")} clients, ${lowest.r.perTick} per tick)`,
      met: lowest.value >= 1,
      beyondIssue: mode === "regio-one-process",
    });
  }
  return goals;
}
