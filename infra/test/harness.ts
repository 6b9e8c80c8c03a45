/**
 * Runs the Pulumi program against `pulumi.runtime.setMocks` and records every resource it asks for.
 * The mocks play Azure only as far as the program reads back from it (a login server, a namespace's
 * endpoint, a profile's DNS name, listed keys); everything asserted on is the program's own input.
 */
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";

export interface Created {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

export interface Run {
  resources: Created[];
  program: typeof import("../index.ts");
  of(type: string): Created[];
  one(type: string, name: string): Created;
}

export const T = {
  group: "azure-native:resources:ResourceGroup",
  registry: "azure-native:containerregistry:Registry",
  image: "docker:index/image:Image",
  namespace: "azure-native:eventhub:Namespace",
  eventHub: "azure-native:eventhub:EventHub",
  rule: "azure-native:eventhub:NamespaceAuthorizationRule",
  identity: "azure-native:managedidentity:UserAssignedIdentity",
  role: "azure-native:authorization:RoleAssignment",
  profile: "azure-native:trafficmanager:Profile",
  endpoint: "azure-native:trafficmanager:Endpoint",
  node: "azure-native:containerinstance:ContainerGroup",
  region: "regio:azure:Region",
  global: "regio:azure:Global",
} as const;

/** Which input holds the Azure name of each resource type (what Azure's naming rules apply to). */
export const AZURE_NAME: Record<string, string> = {
  [T.group]: "resourceGroupName",
  [T.registry]: "registryName",
  [T.namespace]: "namespaceName",
  [T.eventHub]: "eventHubName",
  [T.rule]: "authorizationRuleName",
  [T.identity]: "resourceName",
  [T.role]: "roleAssignmentName",
  [T.profile]: "profileName",
  [T.endpoint]: "endpointName",
  [T.node]: "containerGroupName",
};

const SUBSCRIPTION = "00000000-0000-0000-0000-00000000beef";

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** What Azure would report back for the properties the program reads. */
function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const azureName = str(inputs[AZURE_NAME[type] ?? ""]) || name;
  const state: Record<string, unknown> = { ...inputs, name: azureName };
  switch (type) {
    case T.registry:
      state.loginServer = `${azureName}.azurecr.io`;
      break;
    case T.namespace:
      state.serviceBusEndpoint = `https://${azureName}.servicebus.windows.net:443/`;
      break;
    case T.profile:
      state.dnsConfig = { ...(inputs.dnsConfig as object), fqdn: `${azureName}.trafficmanager.net` };
      break;
    case T.identity:
      state.principalId = `principal-of-${azureName}`;
      break;
    case T.image:
      state.repoDigest = `${str(inputs.imageName).split(":latest")[0]}@sha256:0123abcd`;
      break;
  }
  return state;
}

function mockId(type: string, name: string, inputs: Record<string, unknown>): string {
  const azureName = str(inputs[AZURE_NAME[type] ?? ""]) || name;
  const provider = type.split(":")[1] ?? "mock";
  return `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg/providers/${provider}/${type}/${azureName}`;
}

function mockCall(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  if (token === "azure-native:eventhub:listNamespaceKeys") {
    const ns = str(inputs.namespaceName);
    const rule = str(inputs.authorizationRuleName);
    return {
      primaryConnectionString: `Endpoint=sb://${ns}.servicebus.windows.net/;SharedAccessKeyName=${rule};SharedAccessKey=key-of-${rule}`,
    };
  }
  if (token === "azure-native:containerregistry:listRegistryCredentials") {
    return {
      username: str(inputs.registryName),
      passwords: [{ name: "password", value: "registry-password" }],
    };
  }
  throw new Error(`unexpected invoke ${token}`);
}

export interface RunOptions {
  project?: string;
  stack?: string;
  /** `regio:*` settings (objects are passed as JSON, as the CLI does). */
  config: Record<string, unknown>;
  /** `regio:*` settings stored as secrets. */
  secrets?: Record<string, unknown>;
}

/** Runs infra/index.ts once, fresh, and waits until every resource has been registered. */
export async function runProgram(options: RunOptions): Promise<Run> {
  const resources: Created[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: ({ type, name, inputs }) => {
        resources.push({ type, name, inputs });
        return { id: mockId(type, name, inputs), state: mockState(type, name, inputs) };
      },
      call: ({ token, inputs }) => mockCall(token, inputs),
    },
    options.project ?? "regio",
    options.stack ?? "test",
    false,
  );
  const all: Record<string, string> = {};
  const secrets = { accessKey: "hub-access-key", ...options.secrets };
  for (const [key, value] of Object.entries({ ...options.config, ...secrets })) {
    all[`regio:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(
    all,
    Object.keys(secrets).map((k) => `regio:${k}`),
  );
  // The program reads its configuration when its modules are evaluated: evaluate them again.
  vi.resetModules();
  const program = await import("../index.ts");
  // Every resource constructor holds the runtime open until it is registered; wait for all of them.
  await pulumi.runtime.disconnect();
  const of = (type: string) => resources.filter((r) => r.type === type);
  const one = (type: string, name: string) => {
    const found = resources.filter((r) => r.type === type && r.name === name);
    if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
    return found[0] as Created;
  };
  return { resources, program, of, one };
}

/** The value inside an output, whether it is secret, and whether it is known. */
export async function settle<T>(output: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
  const value = await new Promise<T>((resolve) => output.apply((v) => resolve(v)));
  return { value, secret: await pulumi.isSecret(output) };
}

/** Secret inputs reach the mocks wrapped in Pulumi's serialized secret marker. */
export function isSecretValue(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

/** Removes the secret markers, for assertions on the values themselves. */
export function reveal(value: unknown): unknown {
  if (isSecretValue(value)) return reveal((value as Record<string, unknown>).value);
  if (Array.isArray(value)) return value.map(reveal);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
  }
  return value;
}

export interface Env {
  name: string;
  value?: unknown;
  secureValue?: unknown;
}

/**
 * A container group's broker environment, as given to Azure. (azure-native fills in defaults with
 * an apply over the whole `containers` list, so a secret anywhere in it makes the list secret.)
 */
export function envOf(group: Created): Env[] {
  const containers = reveal(group.inputs.containers) as { environmentVariables: Env[] }[];
  return containers[0]?.environmentVariables ?? [];
}

/** name -> value (whether given as `value` or `secureValue`), for content assertions. */
export function envMap(group: Created): Map<string, string> {
  return new Map(envOf(group).map((e) => [e.name, String(e.secureValue ?? e.value)]));
}
