import { describe, expect, it } from "vitest";
import { AZURE_NAME, runProgram, T, type Created } from "./harness.ts";

/** Azure's rules for the names this program sets (length, characters, first and last character). */
const RULES: Record<string, RegExp> = {
  [T.group]: /^[-\w.()]{0,89}[-\w()]$/,
  [T.registry]: /^[a-zA-Z0-9]{5,50}$/,
  // Event Hubs namespace: 6-50, letters/digits/hyphens, letter first, letter or digit last.
  [T.namespace]: /^[a-zA-Z][a-zA-Z0-9-]{4,48}[a-zA-Z0-9]$/,
  [T.identity]: /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/,
  [T.role]: /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  // Key Vault: 3-24, letter first, letter or digit last, no two hyphens in a row.
  [T.vault]: /^(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/,
  [T.secret]: /^[0-9a-zA-Z-]{1,127}$/,
  // Container Apps and their environments: lowercase, letter first, at most 32, no "--".
  [T.environment]: /^(?!.*--)[a-z][a-z0-9-]{0,30}[a-z0-9]$/,
  [T.app]: /^(?!.*--)[a-z][a-z0-9-]{0,30}[a-z0-9]$/,
  [T.profile]: /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/,
  [T.afdEndpoint]: /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,44}[a-zA-Z0-9])?$/,
  [T.originGroup]: /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,88}[a-zA-Z0-9])?$/,
  [T.origin]: /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,88}[a-zA-Z0-9])?$/,
  [T.workspace]: /^[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]$/,
};

const LONG = {
  project: "regio-multi-region-socket-io-service",
  stack: "production-europe-asia-pacific-and-africa",
};
const LONG_REGIONS = ["australiasoutheast", "australiaeast", "germanywestcentral", "southafricanorth"];

const azureName = (r: Created) => String(r.inputs[AZURE_NAME[r.type] ?? ""]);

/** Names that must be unique within their scope: everything but Key Vault secrets (one set per vault). */
const UNIQUE = Object.keys(RULES).filter((type) => type !== T.secret);

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
      if (UNIQUE.includes(type)) expect(new Set(names).size, type).toBe(names.length);
    }
    for (const ns of run.of(T.namespace).map(azureName)) expect(ns).not.toMatch(/-(sb|mgmt)$/);
    // Names stay readable: the node index survives the cut.
    for (const app of run.of(T.app)) expect(azureName(app)).toMatch(/-n[0-2]-[0-9a-f]{8}$/);
  });

  it("are the same on every run", async () => {
    const config = { regions: LONG_REGIONS, nodesPerRegion: 2 };
    const first = (await runProgram({ ...LONG, config })).resources.map(azureName);
    const second = (await runProgram({ ...LONG, config })).resources.map(azureName);
    expect(second).toEqual(first);
  });
});
