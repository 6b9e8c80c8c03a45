import { describe, expect, it } from "vitest";
import { AZURE_NAME, reveal, runProgram, T, type Created, type Run } from "./harness.ts";

/** Azure's rules for the names this program sets (length, characters, first and last character). */
const RULES: Record<string, RegExp> = {
  [T.group]: /^[-\w.()]{0,89}[-\w()]$/,
  [T.registry]: /^[a-zA-Z0-9]{5,50}$/,
  // Event Hubs namespace: 6-50, letters/digits/hyphens, letter first, letter or digit last.
  [T.namespace]: /^[a-zA-Z][a-zA-Z0-9-]{4,48}[a-zA-Z0-9]$/,
  [T.identity]: /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/,
  [T.profile]: /^[a-zA-Z0-9][a-zA-Z0-9.-]{0,61}[a-zA-Z0-9]$/,
  [T.node]: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
  [T.role]: /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
};
/** A DNS label that also starts with a letter (container DNS labels, Traffic Manager names). */
const DNS_LABEL = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

const LONG = {
  project: "regio-multi-region-socket-io-service",
  stack: "production-europe-asia-pacific-and-africa",
};
const LONG_REGIONS = ["australiasoutheast", "australiaeast", "germanywestcentral", "southafricanorth"];

const azureName = (r: Created) => String(r.inputs[AZURE_NAME[r.type] ?? ""]);

describe("Azure names", () => {
  it("fit Azure's rules with a long project, stack and long region names", async () => {
    // Precondition: the readable names alone would be far too long.
    expect(`${LONG.project}-${LONG.stack}-australiasoutheast`.length).toBeGreaterThan(63);
    const run = await runProgram({ ...LONG, config: { regions: LONG_REGIONS, nodesPerRegion: 3 } });

    for (const [type, rule] of Object.entries(RULES)) {
      const names = run.of(type).map(azureName);
      expect(names.length, type).toBeGreaterThan(0);
      for (const name of names) expect(name, type).toMatch(rule);
      // Distinct although long names share their cut prefix (australiaeast / australiasoutheast).
      expect(new Set(names).size, type).toBe(names.length);
    }
    for (const ns of run.of(T.namespace).map(azureName)) expect(ns).not.toMatch(/-(sb|mgmt)$/);
    for (const group of run.of(T.node)) {
      expect((group.inputs.ipAddress as { dnsNameLabel: string }).dnsNameLabel).toMatch(DNS_LABEL);
    }
    for (const profile of run.of(T.profile)) {
      expect((profile.inputs.dnsConfig as { relativeName: string }).relativeName).toMatch(DNS_LABEL);
    }
    // Names stay readable: the node index survives the cut.
    for (const group of run.of(T.node)) expect(azureName(group)).toMatch(/-n[0-2]-[0-9a-f]{8}$/);
  });

  it("are the same on every run", async () => {
    const config = { regions: LONG_REGIONS, nodesPerRegion: 2 };
    const first = (await runProgram({ ...LONG, config })).resources.map(azureName);
    const second = (await runProgram({ ...LONG, config })).resources.map(azureName);
    expect(second).toEqual(first);
  });
});

/** Logical identity (type + Pulumi name) -> everything the resource was given, secrets revealed. */
function inventory(run: Run): Map<string, Record<string, unknown>> {
  return new Map(
    run.resources.map((r) => [`${r.type}::${r.name}`, reveal(r.inputs) as Record<string, unknown>]),
  );
}

describe("adding a region", () => {
  it("only adds resources; every existing one keeps its name and settings", async () => {
    const regions = ["westeurope", "eastus"];
    const before = inventory(await runProgram({ config: { regions, nodesPerRegion: 2 } }));
    const after = inventory(
      await runProgram({ config: { regions: [...regions, "germanywestcentral"], nodesPerRegion: 2 } }),
    );

    const added = [...after.keys()].filter((k) => !before.has(k));
    expect(added.length).toBeGreaterThan(5);
    for (const key of added) expect(key.split("::")[1]).toMatch(/^germanywestcentral(-|$)/);

    for (const [key, was] of before) {
      const now = after.get(key);
      expect(now, key).toBeDefined();
      if (key.startsWith(`${T.node}::`)) {
        // A node's only change: its environment now lists the new peer region.
        const { containers: _was, ...wasRest } = was;
        const { containers: _now, ...nowRest } = now ?? {};
        expect(nowRest, key).toEqual(wasRest);
      } else {
        expect(now, key).toEqual(was);
      }
    }
  });
});
