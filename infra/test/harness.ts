/**
 * Runs the Pulumi program against `pulumi.runtime.setMocks` and records every resource it asks for,
 * with the resources it was told to wait for (`dependsOn`). The mocks play Azure only as far as the
 * program reads back from it (a login server, a namespace's endpoint, an environment's domain,
 * listed keys); everything asserted on is the program's own input.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";

export interface Created {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** Logical names of the resources given in `dependsOn` (components expanded to their children). */
  dependsOn: string[];
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
  command: "command:local:Command",
  namespace: "azure-native:eventhub:Namespace",
  eventHub: "azure-native:eventhub:EventHub",
  rule: "azure-native:eventhub:NamespaceAuthorizationRule",
  identity: "azure-native:managedidentity:UserAssignedIdentity",
  role: "azure-native:authorization:RoleAssignment",
  vault: "azure-native:keyvault:Vault",
  secret: "azure-native:keyvault:Secret",
  environment: "azure-native:app:ManagedEnvironment",
  app: "azure-native:app:ContainerApp",
  profile: "azure-native:cdn:Profile",
  afdEndpoint: "azure-native:cdn:AFDEndpoint",
  originGroup: "azure-native:cdn:AFDOriginGroup",
  origin: "azure-native:cdn:AFDOrigin",
  route: "azure-native:cdn:Route",
  customDomain: "azure-native:cdn:AFDCustomDomain",
  workspace: "azure-native:operationalinsights:Workspace",
  appInsights: "azure-native:applicationinsights:Component",
  actionGroup: "azure-native:monitor:ActionGroup",
  metricAlert: "azure-native:monitor:MetricAlert",
  diagnostics: "azure-native:monitor:DiagnosticSetting",
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
  [T.vault]: "vaultName",
  [T.secret]: "secretName",
  [T.environment]: "environmentName",
  [T.app]: "containerAppName",
  [T.profile]: "profileName",
  [T.afdEndpoint]: "endpointName",
  [T.originGroup]: "originGroupName",
  [T.origin]: "originName",
  [T.route]: "routeName",
  [T.customDomain]: "customDomainName",
  [T.workspace]: "workspaceName",
  [T.appInsights]: "resourceName",
  [T.actionGroup]: "actionGroupName",
  [T.metricAlert]: "ruleName",
  [T.diagnostics]: "name",
};

export const SUBSCRIPTION = "00000000-0000-0000-0000-00000000beef";
export const TENANT = "00000000-0000-0000-0000-0000000000aa";

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

const short = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 8);

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
    case T.identity:
      state.principalId = `principal-of-${azureName}`;
      state.clientId = `client-of-${azureName}`;
      break;
    case T.environment:
      // Azure picks the first label itself; the region is part of the domain.
      state.defaultDomain = `${short(azureName)}.${str(inputs.location)}.azurecontainerapps.io`;
      break;
    case T.afdEndpoint:
      state.hostName = `${azureName}-${short(azureName)}.z01.azurefd.net`;
      break;
    case T.customDomain:
      state.validationProperties = {
        validationToken: `token-for-${str(inputs.hostName)}`,
        expirationDate: "",
      };
      break;
    case T.appInsights:
      state.connectionString = `InstrumentationKey=ikey-of-${azureName};IngestionEndpoint=https://ingest.example/`;
      break;
    case T.secret: {
      // A new value is a new version, as in Key Vault.
      const value = str((reveal(inputs.properties) as { value?: unknown } | undefined)?.value);
      const base = `https://${str(inputs.vaultName)}.vault.azure.net/secrets/${azureName}`;
      state.properties = { secretUri: base, secretUriWithVersion: `${base}/${short(value)}` };
      break;
    }
    case T.command:
      state.stdout = "";
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
      primaryConnectionString: `Endpoint=sb://${ns}.servicebus.windows.net/;SharedAccessKeyName=${rule};SharedAccessKey=key-of-${ns}-${rule}`,
    };
  }
  if (token === "azure-native:authorization:getClientConfig") {
    return {
      tenantId: TENANT,
      subscriptionId: SUBSCRIPTION,
      clientId: "deployer",
      objectId: "deployer-object",
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

/** The registration request the SDK sends, as far as the recorder reads it. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(cb: (value: { getUrnsList(): string[] }) => void): void };
}

/** Records which resources each registration explicitly waits for, before the mocks answer it. */
function recordDependsOn(into: Map<string, string[]>): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, callback: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    // All direct dependencies less those that come through inputs: what `dependsOn` added.
    const throughInputs = new Set<string>();
    req
      .getPropertydependenciesMap()
      .forEach((deps) => deps.getUrnsList().forEach((urn) => throughInputs.add(urn)));
    const explicit = req.getDependenciesList().filter((urn) => !throughInputs.has(urn));
    into.set(
      `${req.getType()}::${req.getName()}`,
      explicit.map((urn) => urn.split("::").pop() ?? urn),
    );
    return register(req, callback);
  };
}

/** Runs infra/index.ts once, fresh, and waits until every resource has been registered. */
export async function runProgram(options: RunOptions): Promise<Run> {
  const registered: Omit<Created, "dependsOn">[] = [];
  const dependsOn = new Map<string, string[]>();
  await pulumi.runtime.setMocks(
    {
      newResource: ({ type, name, inputs }) => {
        registered.push({ type, name, inputs });
        return { id: mockId(type, name, inputs), state: mockState(type, name, inputs) };
      },
      call: ({ token, inputs }) => mockCall(token, inputs),
    },
    options.project ?? "regio",
    options.stack ?? "test",
    false,
  );
  recordDependsOn(dependsOn);
  const all: Record<string, string> = {};
  const secrets = { accessKey: "hub-access-key-0123456789abcdef0123456789abcdef", ...options.secrets };
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
  const resources = registered.map((r) => ({ ...r, dependsOn: dependsOn.get(`${r.type}::${r.name}`) ?? [] }));
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
  value?: string;
  secretRef?: string;
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  env: Env[];
  resources: { cpu: number; memory: string };
  probes?: { type: string; httpGet: { path: string; port: number } }[];
}

/** A node app's containers, as given to Azure (secret markers removed). */
export function containersOf(app: Created): Container[] {
  return (reveal(app.inputs.template) as { containers: Container[] }).containers;
}

export function brokerOf(app: Created): Container {
  const broker = containersOf(app).find((c) => c.name === "broker");
  if (!broker) throw new Error(`${app.name} has no broker container`);
  return broker;
}

/** The node's region (its Container App's location). */
export const regionOf = (app: Created) => String(app.inputs.location);

/**
 * A node's environment with every secret reference resolved the way Azure resolves it at start:
 * app secret -> Key Vault URL -> the value the program stored in that vault secret.
 */
export function resolvedEnv(run: Run, app: Created): Record<string, string> {
  const secrets =
    (reveal(app.inputs.configuration) as { secrets?: { name: string; keyVaultUrl: string }[] }).secrets ?? [];
  const stored = new Map(
    run.of(T.secret).map((s) => {
      const base = `https://${String(s.inputs.vaultName)}.vault.azure.net/secrets/${String(s.inputs.secretName)}`;
      const value = String((reveal(s.inputs.properties) as { value: string }).value);
      return [`${base}/${short(value)}`, value];
    }),
  );
  const env: Record<string, string> = {};
  for (const e of brokerOf(app).env) {
    if (e.secretRef === undefined) {
      env[e.name] = String(e.value);
      continue;
    }
    const url = secrets.find((s) => s.name === e.secretRef)?.keyVaultUrl;
    const value = url === undefined ? undefined : stored.get(url);
    if (value === undefined)
      throw new Error(`${app.name}: ${e.name} refers to secret ${e.secretRef}, which is not in Key Vault`);
    env[e.name] = value;
  }
  return env;
}
