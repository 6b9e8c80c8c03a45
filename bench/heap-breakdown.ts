/**
 * Where an idle client's heap goes: heap snapshots of a server process (bench/idle-server.ts) with
 * no client and with N idle clients (the browser headers of bench/idle-memory.ts), diffed by what
 * V8 calls each object (its constructor, or "(string)", "(closure) name", ...), per client.
 * Not a scenario of bench/run.ts (it writes no section of docs/benchmarks.md); run it by hand:
 *
 *   npx tsx --conditions=@regio/source bench/heap-breakdown.ts [broker|plain|app|raw-ws] [clients] [rows] [--detail] [--retainers=Name]
 */
import { readFileSync, rmSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import type { Socket as ClientSocket } from "socket.io-client";
import { connectAll } from "./idle-memory.ts";
import { measure, startChild, stopAll, type Child } from "./server-process.ts";

interface Group {
  count: number;
  bytes: number;
}

/**
 * Self sizes of a snapshot's nodes, grouped by type and name; with `detail`, plain objects by their
 * property names, and strings, closures and V8's internal arrays by what holds them (first retainer).
 */
function groups(file: string, detail: boolean, retainersOf?: string): Map<string, Group> {
  const snapshot = JSON.parse(readFileSync(file, "utf8")) as {
    snapshot: {
      meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] };
    };
    nodes: number[];
    edges: number[];
    strings: string[];
  };
  rmSync(file);
  const { meta } = snapshot.snapshot;
  const fields = meta.node_fields;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const [typeAt, nameAt, sizeAt, edgeCountAt] = ["type", "name", "self_size", "edge_count"].map((f) =>
    fields.indexOf(f),
  ) as [number, number, number, number];
  const edgeFields = meta.edge_fields.length;
  const { nodes, edges, strings } = snapshot;
  const nodeCount = nodes.length / fields.length;
  const typeOf = (n: number) => nodeTypes[nodes[n * fields.length + typeAt]!]!;
  const nameOf = (n: number) => strings[nodes[n * fields.length + nameAt]!]!;
  // With `retainersOf`: every strong reference to objects of that name, counted by owner and edge.
  const retainedBy = new Map<string, Group>();
  // First strong retainer of each node, and plain objects' property names.
  const retainer = new Int32Array(nodeCount).fill(-1);
  const retainerEdge = new Array<string>(nodeCount);
  const props = new Array<string[] | undefined>(nodeCount);
  let edge = 0;
  for (let n = 0; n < nodeCount; n++) {
    const count = nodes[n * fields.length + edgeCountAt]!;
    for (let e = 0; e < count; e++, edge += edgeFields) {
      const type = edgeTypes[edges[edge]!]!;
      const nameOrIndex = edges[edge + 1]!;
      const to = edges[edge + 2]! / fields.length;
      const name = type === "element" || type === "hidden" ? `[${nameOrIndex}]` : strings[nameOrIndex]!;
      if (detail && type === "property" && typeOf(n) === "object" && nameOf(n) === "Object")
        (props[n] ??= []).push(name);
      if (retainersOf && type !== "weak" && nameOf(to) === retainersOf && typeOf(to) === "object") {
        const owner = `${retainersOf} <- ${nameOf(n).slice(0, 40)}.${name}`;
        const group = retainedBy.get(owner) ?? { count: 0, bytes: 0 };
        group.count++;
        retainedBy.set(owner, group);
      }
      if (type === "weak" || type === "shortcut" || retainer[to] !== -1) continue;
      retainer[to] = n;
      retainerEdge[to] = name;
    }
  }
  const via = (n: number) => {
    const r = retainer[n]!;
    if (r < 0) return "";
    const owner =
      typeOf(r) === "object" && nameOf(r) === "Object" && props[r]
        ? `{${props[r]!.slice(0, 4).join(",")}}`
        : nameOf(r).slice(0, 30);
    return ` via ${owner}.${retainerEdge[n]}`;
  };
  const result = retainedBy;
  for (let n = 0; n < nodeCount; n++) {
    const type = typeOf(n);
    const name = nameOf(n);
    let key: string;
    if (type === "string" || type === "concatenated string" || type === "sliced string") key = `(${type})`;
    else if (type === "closure") key = `(closure) ${name.slice(0, 40)}`;
    else if (type === "object" || type === "native") key = name.slice(0, 60);
    else
      key = `(${type}) ${type === "hidden" || type === "array" || type === "code" ? name.slice(0, 40) : ""}`;
    if (detail) {
      if (key === "Object" && props[n]) key = `Object{${props[n]!.slice(0, 8).join(",")}}`;
      else if (
        (key.startsWith("(") && !key.startsWith("(code)")) ||
        ["Array", "Map", "Set", "system / Context", "Object{__proto__}", "Object"].includes(key)
      )
        key += via(n);
      // An array's elements: also what holds the array (its elements say more than "Array.elements").
      const r = retainer[n]!;
      if (key.endsWith("via Array.elements") && r >= 0) key += ` of${via(r)}`;
    }
    const group = result.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += nodes[n * fields.length + sizeAt]!;
    result.set(key, group);
  }
  return result;
}

async function snapshot(child: Child): Promise<Map<string, Group>> {
  const { file } = (await (await fetch(`${child.control}/snapshot`)).json()) as { file: string };
  return groups(file, detail, retainersOf);
}

const role = process.argv[2] ?? "broker";
const clients = Number(process.argv[3] ?? 2000);
const rows = Number(process.argv[4] ?? 40);
const detail = process.argv.includes("--detail");
/** `--retainers=Name`: also count what references each object named Name (constructor), by owner and edge. */
const retainersOf = process.argv.find((arg) => arg.startsWith("--retainers="))?.slice("--retainers=".length);
const children: Child[] = [];
let sockets: ClientSocket[] = [];
try {
  let measured: Child;
  let url: string;
  let path: string | undefined;
  if (role === "plain" || role === "raw-ws") {
    measured = await startChild(role);
    children.push(measured);
    url = measured.url!;
    path = measured.path;
  } else {
    const broker = await startChild("broker");
    children.push(broker);
    const app = await startChild("app", { REGIO_BENCH_BROKER: broker.url! });
    children.push(app);
    measured = role === "app" ? app : broker;
    url = broker.url!;
    path = app.path;
  }
  const heapBefore = (await measure(measured, "measure")).heapUsed;
  const before = await snapshot(measured);
  sockets = await connectAll(url, path, clients);
  await delay(2_000);
  const heapAfter = (await measure(measured, "measure")).heapUsed;
  const after = await snapshot(measured);
  const diff = [...new Set([...before.keys(), ...after.keys()])].map((key) => {
    const a = before.get(key) ?? { count: 0, bytes: 0 };
    const b = after.get(key) ?? { count: 0, bytes: 0 };
    return { key, count: (b.count - a.count) / clients, bytes: (b.bytes - a.bytes) / clients };
  });
  diff.sort((x, y) => y.bytes - x.bytes);
  const total = diff.filter((d) => !d.key.includes(" <- ")).reduce((sum, d) => sum + d.bytes, 0);
  const heapUsed = (heapAfter - heapBefore) / clients;
  console.log(
    `${role}: ${clients} idle clients, ${heapUsed.toFixed(0)} bytes of heap used per client (after full collections), ${total.toFixed(0)} in the snapshots (self sizes)`,
  );
  console.log("bytes/client  objects/client  what");
  const references = diff.filter((d) => d.key.includes(" <- ") && d.count !== 0);
  const objects = diff.filter((d) => !d.key.includes(" <- "));
  if (references.length > 0) {
    console.log(`references to ${retainersOf} per client, by owner and edge:`);
    for (const d of references) console.log(`${d.count.toFixed(2).padStart(8)}  ${d.key}`);
  }
  for (const d of objects.slice(0, rows)) {
    console.log(`${d.bytes.toFixed(1).padStart(12)}  ${d.count.toFixed(2).padStart(14)}  ${d.key}`);
  }
} finally {
  for (const socket of sockets) socket.disconnect();
  await stopAll(children);
}
