import { fileURLToPath } from "node:url";
import * as azure from "@pulumi/azure-native";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { imageSourceHash } from "../image-source.ts";

/** The repository root: the build context of broker/Dockerfile. */
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export const IMAGE_REPOSITORY = "regio-broker";

/**
 * The stack's container registry. No admin user: nodes pull with their managed identity (AcrPull),
 * and the image is built by the registry itself (below), authorized by the deployer's own Azure
 * sign-in, so no registry password exists anywhere.
 */
export function containerRegistry(
  parent: pulumi.Resource,
  args: { resourceGroupName: pulumi.Input<string>; registryName: string; location: string },
): azure.containerregistry.Registry {
  return new azure.containerregistry.Registry(
    "registry",
    {
      resourceGroupName: args.resourceGroupName,
      registryName: args.registryName,
      location: args.location,
      sku: { name: "Basic" },
      adminUserEnabled: false,
    },
    { parent },
  );
}

/**
 * Builds broker/Dockerfile in the registry with ACR Tasks (`az acr build`: the Azure CLI uploads
 * the context, honouring .dockerignore, and the registry builds linux/amd64 and pushes). No Docker
 * on the deploying machine, no registry credentials: `az` acts as the signed-in user, who needs
 * the right to run tasks on the registry (Contributor on the resource group does). The tag is a
 * digest of the sources, so an unchanged tree neither rebuilds nor rolls the nodes.
 */
export function buildBrokerImage(
  parent: pulumi.Resource,
  args: { registry: azure.containerregistry.Registry; subscriptionId: pulumi.Input<string> },
): pulumi.Output<string> {
  const tag = imageSourceHash(REPO_ROOT);
  const image = `${IMAGE_REPOSITORY}:${tag}`;
  const build = new command.local.Command(
    "broker-image",
    {
      dir: REPO_ROOT,
      create: pulumi.interpolate`az acr build --subscription ${args.subscriptionId} --registry ${args.registry.name} --image ${image} --file broker/Dockerfile --platform linux/amd64 .`,
      triggers: [tag],
    },
    { parent },
  );
  // Through the command's output, so that nodes wait for the push.
  return pulumi.all([args.registry.loginServer, build.stdout]).apply(([server]) => `${server}/${image}`);
}
