import * as azure from "@pulumi/azure-native";
import * as pulumi from "@pulumi/pulumi";
import type { NodeSecret } from "../broker-env.ts";

export interface RegionVaultArgs {
  region: string;
  vaultName: string;
  resourceGroupName: pulumi.Input<string>;
  tenantId: pulumi.Input<string>;
  secrets: NodeSecret[];
}

export interface RegionVault {
  vault: azure.keyvault.Vault;
  /**
   * Each secret's URL with its version. Nodes reference these, not the versionless URL: Container
   * Apps restarts every revision that uses a versionless reference when a new version appears (all
   * nodes of a region at once); a versioned one changes only through `pulumi up`, which rolls.
   */
  secretUrls: Record<string, pulumi.Output<string>>;
}

/**
 * The region's Key Vault: the hub access key and the Kafka passwords its nodes use, in the
 * region itself so that a node starting there depends on nothing in another region. Access is by
 * Azure RBAC (the nodes' identity holds Key Vault Secrets User on this vault only). Soft delete is
 * kept at its minimum retention, 7 days, and purge protection off, so that `pulumi destroy` and a
 * new deploy under the same names works after a purge (README).
 */
export function regionVault(parent: pulumi.Resource, args: RegionVaultArgs): RegionVault {
  const vault = new azure.keyvault.Vault(
    `${args.region}-vault`,
    {
      resourceGroupName: args.resourceGroupName,
      vaultName: args.vaultName,
      location: args.region,
      properties: {
        tenantId: args.tenantId,
        sku: { family: "A", name: "standard" },
        enableRbacAuthorization: true,
        enableSoftDelete: true,
        softDeleteRetentionInDays: 7,
      },
    },
    { parent },
  );
  const secretUrls: Record<string, pulumi.Output<string>> = {};
  for (const secret of args.secrets) {
    const stored = new azure.keyvault.Secret(
      `${args.region}-secret-${secret.name}`,
      {
        resourceGroupName: args.resourceGroupName,
        vaultName: vault.name,
        secretName: secret.name,
        properties: { value: pulumi.secret(secret.value) },
      },
      { parent },
    );
    secretUrls[secret.name] = stored.properties.apply((p) => p.secretUriWithVersion);
  }
  return { vault, secretUrls };
}
