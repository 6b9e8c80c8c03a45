import * as azure from "@pulumi/azure-native";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Naming } from "../naming.ts";

/** Built-in Azure roles the nodes' identities hold (ids are the same in every tenant). */
export const ROLE = {
  /** Pull images from the stack's registry. */
  acrPull: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
  /** Read secret values from a Key Vault that uses Azure RBAC. */
  keyVaultSecretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
  /** Kafka produce to a namespace (Entra ID authentication). */
  eventHubsDataSender: "2b629674-e913-4c01-ae53-ef4638d8f975",
  /** Kafka consume from a namespace (Entra ID authentication). */
  eventHubsDataReceiver: "a638d3c7-ab3a-418d-83e6-5f17a39d4fde",
} as const;

export interface GrantArgs {
  naming: Naming;
  /** Whose identity gets the role (a region name); part of the assignment's derived GUID. */
  holder: string;
  principalId: pulumi.Input<string>;
  role: string;
  scope: pulumi.Input<string>;
  /** Tells apart the same role of the same holder on several resources (e.g. each peer's namespace). */
  scopeKey?: string;
}

/** A role assignment with a name derived from holder, role and scope, so re-runs never replace it. */
export function grant(
  parent: pulumi.Resource,
  name: string,
  args: GrantArgs,
): azure.authorization.RoleAssignment {
  return new azure.authorization.RoleAssignment(
    name,
    {
      roleAssignmentName: args.naming.roleAssignment(args.holder, args.role, args.scopeKey),
      scope: args.scope,
      principalId: args.principalId,
      // Skips the directory lookup that fails while a new identity is still replicating.
      principalType: "ServicePrincipal",
      roleDefinitionId: pulumi
        .output(args.scope)
        .apply(
          (scope) =>
            `/subscriptions/${scope.split("/")[2]}/providers/Microsoft.Authorization/roleDefinitions/${args.role}`,
        ),
    },
    { parent },
  );
}

/**
 * Waits after role assignments before anything uses them. Azure accepts an assignment at once but
 * may take minutes to enforce it; a Container App created in that window fails its first image
 * pull ("image not accessible") or Key Vault read, and the deploy fails. The wait is a command
 * that sleeps (with Node, so it runs wherever Pulumi does); `triggers` are the assignments, so it
 * runs again only when an assignment is new (first deploy, a new region, a new peer), never on
 * ordinary updates.
 */
export function waitForRoles(
  parent: pulumi.Resource,
  name: string,
  args: { seconds: number; assignments: pulumi.Input<string>[] },
): command.local.Command {
  return new command.local.Command(
    name,
    {
      create: `node -e "setTimeout(() => {}, ${args.seconds * 1000})"`,
      triggers: args.assignments,
    },
    { parent },
  );
}
