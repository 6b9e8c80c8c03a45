import { describe, expect, it } from "vitest";
import { brokerOf, containersOf, regionOf, resolvedEnv, reveal, runProgram, T, type Run } from "./harness.ts";

const nodesInOrder = (run: Run) => run.of(T.app).map((a) => a.name);

/** Logical identity (type + Pulumi name) -> everything the resource was given, secrets revealed. */
function inventory(run: Run): Map<string, Record<string, unknown>> {
  return new Map(
    run.resources.map((r) => [`${r.type}::${r.name}`, reveal(r.inputs) as Record<string, unknown>]),
  );
}

describe("updates without downtime", () => {
  it("creates and updates nodes one at a time, in region order, each after the one before", async () => {
    const run = await runProgram({
      config: { regions: ["westeurope", "eastus", "southeastasia"], nodesPerRegion: 2 },
    });
    const order = nodesInOrder(run);
    expect(order).toEqual([
      "westeurope-node-0",
      "westeurope-node-1",
      "eastus-node-0",
      "eastus-node-1",
      "southeastasia-node-0",
      "southeastasia-node-1",
    ]);
    order.forEach((name, i) => {
      const app = run.one(T.app, name);
      const wait = `${regionOf(app)}-role-propagation`;
      // Pulumi waits for these before creating or updating the node: its region's roles are in
      // force, and the node before it is done, which for a Container App means its new revision
      // passed its readiness probe (Azure reports the update done only then).
      expect(app.dependsOn, name).toEqual(i === 0 ? [wait] : [wait, order[i - 1]]);
    });
    for (const app of run.of(T.app)) {
      const configuration = reveal(app.inputs.configuration) as { activeRevisionsMode: string };
      const template = reveal(app.inputs.template) as {
        scale: { minReplicas: number; maxReplicas: number };
        terminationGracePeriodSeconds: number;
      };
      // A new revision takes traffic only once ready; the old one then gets SIGTERM and time to drain.
      expect(configuration.activeRevisionsMode).toBe("Single");
      expect(template.scale).toEqual({ minReplicas: 1, maxReplicas: 1 });
      expect(template.terminationGracePeriodSeconds).toBe(60);
    }
  });

  it("changes a node's size in place, as a new revision, within Container Apps' CPU/memory pairs", async () => {
    const regions = ["westeurope", "eastus"];
    const before = inventory(await runProgram({ config: { regions, nodeSize: { cpu: 1 } } }));
    const bigger = await runProgram({ config: { regions, nodeSize: { cpu: 2 } } });
    const after = inventory(bigger);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [key, was] of before) {
      const now = after.get(key) ?? {};
      if (key.startsWith(`${T.app}::`)) {
        const { template: _t, ...rest } = now;
        const { template: _w, ...wasRest } = was;
        expect(rest, key).toEqual(wasRest);
      } else {
        expect(now, key).toEqual(was);
      }
    }
    for (const app of bigger.of(T.app)) {
      const sizes = containersOf(app).map((c) => c.resources);
      expect(sizes.reduce((sum, r) => sum + r.cpu, 0)).toBe(2);
      expect(sizes.reduce((sum, r) => sum + Number(r.memory.replace(/Gi$/, "")), 0)).toBe(4);
      expect(brokerOf(app).resources).toEqual({ cpu: 1.75, memory: "3.5Gi" });
    }
  });

  it("adds a region by adding resources; existing nodes only learn the new peer, in the rolling order", async () => {
    const regions = ["westeurope", "eastus"];
    const beforeRun = await runProgram({ config: { regions, nodesPerRegion: 2 } });
    const before = inventory(beforeRun);
    const afterRun = await runProgram({
      config: { regions: [...regions, "germanywestcentral"], nodesPerRegion: 2 },
    });
    const after = inventory(afterRun);

    const added = [...after.keys()].filter((k) => !before.has(k));
    expect(added.length).toBeGreaterThan(10);
    for (const key of added)
      expect(key.split("::")[1]).toMatch(
        /^(germanywestcentral(-|$)|(westeurope|eastus)-secret-peer-germanywestcentral-)/,
      );
    expect([...before.keys()].filter((k) => !after.has(k))).toEqual([]);

    const changed = [...before]
      .filter(([key, was]) => JSON.stringify(after.get(key)) !== JSON.stringify(was))
      .map(([key]) => key.split("::")[1]);
    // Changed: the nodes (their environment), and each region's role wait (SAS: unchanged grants,
    // so not even that). Nothing is replaced: no name changes.
    expect(changed.sort()).toEqual(
      beforeRun
        .of(T.app)
        .map((a) => a.name)
        .sort(),
    );
    for (const app of beforeRun.of(T.app)) {
      const was = resolvedEnv(beforeRun, app);
      const now = resolvedEnv(afterRun, afterRun.one(T.app, app.name));
      const differs = Object.keys({ ...was, ...now }).filter((k) => was[k] !== now[k]);
      // Precisely what restarts an existing node when a region is added (README, "Add or remove a region").
      expect(differs.sort()).toEqual(
        [
          "REGIO_DEPLOYED_SECRET_VERSIONS",
          "REGIO_NODE_URL_PATTERN",
          "REGIO_PEERS",
          "REGIO_PEER_GERMANYWESTCENTRAL_SASL_MECHANISM",
          "REGIO_PEER_GERMANYWESTCENTRAL_SASL_PASSWORD",
          "REGIO_PEER_GERMANYWESTCENTRAL_SASL_USERNAME",
          "REGIO_PEER_GERMANYWESTCENTRAL_SSL",
        ].sort(),
      );
    }
    // The new region's first node comes after the last existing one.
    expect(afterRun.one(T.app, "germanywestcentral-node-0").dependsOn).toContain("eastus-node-1");
  });

  it("rolls a new access key out as new revisions, one node after the other, not a restart of all", async () => {
    const regions = ["westeurope", "eastus"];
    const old = await runProgram({
      config: { regions },
      secrets: { accessKey: "old-key-0123456789abcdef0123456789abcdef" },
    });
    const both = await runProgram({
      config: { regions },
      secrets: {
        accessKey: "old-key-0123456789abcdef0123456789abcdef,new-key-0123456789abcdef0123456789abcdef",
      },
    });
    for (const app of old.of(T.app)) {
      const secrets = (
        reveal(app.inputs.configuration) as { secrets: { name: string; keyVaultUrl: string }[] }
      ).secrets;
      const url = secrets.find((s) => s.name === "access-key")?.keyVaultUrl ?? "";
      // A versioned reference: Azure restarts every revision on a new version of a versionless one.
      expect(url).toMatch(/^https:\/\/[a-z0-9-]+\.vault\.azure\.net\/secrets\/access-key\/[0-9a-f]+$/);
      const now = both.one(T.app, app.name);
      expect(resolvedEnv(both, now).REGIO_ACCESS_KEY).toBe(
        "old-key-0123456789abcdef0123456789abcdef,new-key-0123456789abcdef0123456789abcdef",
      );
      // The template changes (a new revision), so the rolling order applies.
      const versions = (run: Run, name: string) =>
        resolvedEnv(run, run.one(T.app, name)).REGIO_DEPLOYED_SECRET_VERSIONS;
      expect(versions(both, app.name)).not.toBe(versions(old, app.name));
    }
  });

  it("waits, on a first deploy, until the nodes' roles are in force", async () => {
    const run = await runProgram({
      config: { regions: ["westeurope", "eastus"], rolePropagationSeconds: 90 },
    });
    for (const region of ["westeurope", "eastus"]) {
      const wait = run.one(T.command, `${region}-role-propagation`);
      expect(String(wait.inputs.create)).toBe('node -e "setTimeout(() => {}, 90000)"');
      // It runs again only when an assignment is new: its triggers are the assignments.
      const assignments = run
        .of(T.role)
        .filter((r) => r.name.startsWith(`${region}-`))
        .map((r) => String(r.inputs.roleAssignmentName));
      expect(assignments).toHaveLength(2);
      const triggers = wait.inputs.triggers as string[];
      expect(triggers.slice(0, 2).map((id) => id.split("/").pop())).toEqual(
        expect.arrayContaining(assignments),
      );
      for (const app of run.of(T.app).filter((a) => regionOf(a) === region)) {
        expect(app.dependsOn).toContain(`${region}-role-propagation`);
      }
    }
  });
});
