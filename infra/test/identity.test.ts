import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { IMAGE_REPOSITORY, REPO_ROOT } from "../components/registry.ts";
import { ROLE } from "../components/roles.ts";
import { IMAGE_INPUTS, imageSourceHash } from "../image-source.ts";
import { brokerOf, isSecretValue, regionOf, reveal, runProgram, TENANT, T, type Created } from "./harness.ts";

const REGIONS = ["westeurope", "eastus"];

interface AppSecret {
  name: string;
  keyVaultUrl: string;
  identity: string;
}
const appSecretsOf = (app: Created) =>
  reveal(app.inputs.configuration) as {
    secrets: AppSecret[];
    registries: { server: string; identity: string }[];
  };

describe("identities and secrets", () => {
  it("builds the image in the registry, without an admin user, and nodes pull it with their identity", async () => {
    const run = await runProgram({ config: { regions: REGIONS } });
    const registry = run.one(T.registry, "registry").inputs;
    expect(registry.adminUserEnabled).toBe(false);
    const loginServer = `${String(registry.registryName)}.azurecr.io`;

    const tag = imageSourceHash(REPO_ROOT);
    const build = run.one(T.command, "broker-image").inputs;
    expect(build.dir).toBe(REPO_ROOT);
    expect(build.create).toBe(
      `az acr build --subscription 00000000-0000-0000-0000-00000000beef --registry ${String(registry.registryName)} --image ${IMAGE_REPOSITORY}:${tag} --file broker/Dockerfile --platform linux/amd64 .`,
    );
    expect(build.triggers).toEqual([tag]);

    for (const region of REGIONS) {
      const identity = run.one(T.identity, `${region}-identity`).inputs.resourceName as string;
      const pull = run.one(T.role, `${region}-acr-pull`).inputs;
      expect(pull.principalId).toBe(`principal-of-${identity}`);
      expect(String(pull.scope)).toMatch(new RegExp(`/${String(registry.registryName)}$`));
      expect(pull.roleDefinitionId).toMatch(new RegExp(`^/subscriptions/[-0-9a-f]+/.*/${ROLE.acrPull}$`));
      for (const app of run.of(T.app).filter((a) => regionOf(a) === region)) {
        expect(brokerOf(app).image).toBe(`${loginServer}/${IMAGE_REPOSITORY}:${tag}`);
        const identities = reveal(app.inputs.identity) as { type: string; userAssignedIdentities: string[] };
        expect(identities.type).toBe("UserAssigned");
        expect(identities.userAssignedIdentities).toEqual([
          expect.stringMatching(new RegExp(`/${identity}$`)),
        ]);
        expect(appSecretsOf(app).registries).toEqual([
          { server: loginServer, identity: expect.stringMatching(new RegExp(`/${identity}$`)) },
        ]);
      }
    }
  });

  it("uses a configured image instead of building one", async () => {
    const image = "example.azurecr.io/regio-broker:1.2.3";
    const run = await runProgram({ config: { regions: ["westeurope"], image } });
    expect(run.of(T.command).map((c) => c.name)).toEqual(["westeurope-role-propagation"]);
    for (const app of run.of(T.app)) expect(brokerOf(app).image).toBe(image);
  });

  it("builds from exactly what broker/Dockerfile copies, on Node 24", () => {
    const dockerfile = readFileSync(join(REPO_ROOT, "broker", "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-/m);
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      (m[1] ?? "").split(" "),
    );
    expect(copied.length).toBeGreaterThan(5);
    const covered = (source: string) =>
      IMAGE_INPUTS.some((input) => source === input || (input.endsWith("/") && source.startsWith(input)));
    for (const source of copied) expect(covered(source), source).toBe(true);
    // A change to any input is a new tag, so nodes roll onto it; an unchanged tree keeps its tag.
    expect(imageSourceHash(REPO_ROOT)).toBe(imageSourceHash(REPO_ROOT));
  });

  it("keeps the access key and Kafka passwords in each region's Key Vault, read by the region's identity only", async () => {
    const run = await runProgram({
      config: { regions: REGIONS },
      secrets: { accessKey: "k-0123456789abcdef0123456789abcdef" },
    });
    for (const region of REGIONS) {
      const vault = run.one(T.vault, `${region}-vault`).inputs;
      const vaultName = String(vault.vaultName);
      expect(vault).toMatchObject({
        location: region,
        properties: { tenantId: TENANT, enableRbacAuthorization: true, softDeleteRetentionInDays: 7 },
      });
      const identity = String(run.one(T.identity, `${region}-identity`).inputs.resourceName);
      const reader = run.one(T.role, `${region}-vault-secrets`).inputs;
      expect(reader.principalId).toBe(`principal-of-${identity}`);
      expect(String(reader.scope)).toMatch(new RegExp(`/${vaultName}$`));
      expect(String(reader.roleDefinitionId)).toMatch(ROLE.keyVaultSecretsUser);
      // Only this region's identity reads this vault.
      const readers = run.of(T.role).filter((r) => new RegExp(`/${vaultName}$`).test(String(r.inputs.scope)));
      expect(readers).toHaveLength(1);

      const stored = run.of(T.secret).filter((s) => s.inputs.vaultName === vaultName);
      expect(stored.map((s) => s.inputs.secretName).sort()).toEqual(
        [
          "access-key",
          "kafka-password",
          `peer-${REGIONS.find((r) => r !== region) ?? ""}-kafka-password`,
        ].sort(),
      );
      for (const s of stored) {
        // Secret in Pulumi's state as well.
        const properties = s.inputs.properties as { value?: unknown };
        expect(
          isSecretValue(properties) || isSecretValue(properties.value),
          String(s.inputs.secretName),
        ).toBe(true);
      }

      for (const app of run.of(T.app).filter((a) => regionOf(a) === region)) {
        const secrets = appSecretsOf(app).secrets;
        expect(secrets.map((s) => s.name).sort()).toEqual(
          stored.map((s) => String(s.inputs.secretName)).sort(),
        );
        for (const s of secrets) {
          expect(s.keyVaultUrl).toMatch(
            new RegExp(`^https://${vaultName}\\.vault\\.azure\\.net/secrets/${s.name}/`),
          );
          expect(s.identity).toMatch(new RegExp(`/${identity}$`));
        }
        for (const e of brokerOf(app).env) {
          // A secret reaches a node only by reference, never as a plain value.
          if (/KEY|PASSWORD/.test(e.name) && e.name !== "REGIO_DEPLOYED_SECRET_VERSIONS") {
            expect(e.secretRef, e.name).toBeDefined();
            expect(e.value, e.name).toBeUndefined();
          }
          expect(String(e.value ?? "")).not.toMatch(/k-0123456789abcdef|SharedAccessKey=/);
        }
      }
    }
  });
});
