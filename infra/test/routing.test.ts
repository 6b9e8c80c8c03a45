import { describe, expect, it } from "vitest";
import { GLOBAL_ORIGIN_GROUP } from "../components/global.ts";
import {
  brokerOf,
  regionOf,
  resolvedEnv,
  reveal,
  runProgram,
  settle,
  T,
  type Created,
  type Run,
} from "./harness.ts";

const REGIONS = ["westeurope", "eastus", "southeastasia"];

interface Ingress {
  external: boolean;
  targetPort: number;
  transport: string;
  allowInsecure: boolean;
  stickySessions: { affinity: string };
}

const ingressOf = (app: Created) => (reveal(app.inputs.configuration) as { ingress: Ingress }).ingress;
const hostOf = (url: string) => new URL(url).host;

/** REGIO_NODE_URL_PATTERN as the strictest reading of its globs: `*` within one DNS label only. */
function matchesPattern(pattern: string, url: string): boolean {
  return pattern.split(",").some((glob) => {
    const escaped = glob.replace(/[.+?^${}()|[\]\\/]/g, "\\$&").replace(/\*/g, "[^./]*");
    return new RegExp(`^${escaped}$`).test(url);
  });
}

const groupNamed = (run: Run, azureName: string) =>
  run.of(T.originGroup).find((g) => g.inputs.originGroupName === azureName);
const originsIn = (run: Run, group: Created) =>
  run.of(T.origin).filter((o) => o.inputs.originGroupName === group.inputs.originGroupName);

describe("TLS on 443 for clients and app servers", () => {
  it("gives every node its own HTTPS address, advertised, matched by the URL pattern, with no affinity", async () => {
    const run = await runProgram({ config: { regions: REGIONS, nodesPerRegion: 3 } });
    const apps = run.of(T.app);
    expect(apps).toHaveLength(9);
    const urls = apps.map((app) => resolvedEnv(run, app).REGIO_ADVERTISED_URL ?? "");
    expect(new Set(urls).size).toBe(9);
    const outputs = run.program.regionEndpoints;
    for (const app of apps) {
      const env = resolvedEnv(run, app);
      const region = regionOf(app);
      const environment = run.one(T.environment, `${region}-environment`);
      // The app's own name under its environment's domain: the address Azure's ingress serves with
      // a certificate it manages, on 443.
      const url = env.REGIO_ADVERTISED_URL ?? "";
      expect(url).toMatch(
        new RegExp(
          `^https://${String(app.inputs.containerAppName)}\\.[a-z0-9]+\\.${region}\\.azurecontainerapps\\.io$`,
        ),
      );
      expect(String(app.inputs.environmentId)).toMatch(
        new RegExp(`/${String(environment.inputs.environmentName)}$`),
      );
      expect(ingressOf(app)).toMatchObject({
        external: true,
        targetPort: 7400,
        allowInsecure: false,
        stickySessions: { affinity: "none" },
      });
      expect(env.REGIO_PORT).toBe("7400");
      expect(env.REGIO_HOST).toBe("0.0.0.0");
      // Peers check each other's advertised URLs against the pattern: every node of every region fits.
      for (const other of urls)
        expect(matchesPattern(env.REGIO_NODE_URL_PATTERN ?? "", other), other).toBe(true);
      expect(matchesPattern(env.REGIO_NODE_URL_PATTERN ?? "", "https://evil.example.com")).toBe(false);
    }
    for (const region of REGIONS) {
      const nodes = await Promise.all(
        (outputs[region]?.nodes ?? []).map(async (n) => (await settle(n)).value),
      );
      const inRegion = apps
        .filter((a) => regionOf(a) === region)
        .map((a) => resolvedEnv(run, a).REGIO_ADVERTISED_URL);
      expect(nodes).toEqual(inRegion);
    }
  });

  it("puts every node behind Front Door: the global endpoint over all, each region's over its own", async () => {
    const run = await runProgram({ config: { regions: REGIONS, nodesPerRegion: 2 } });
    expect(run.one(T.profile, "front-door").inputs.sku).toEqual({ name: "Standard_AzureFrontDoor" });
    const global = groupNamed(run, GLOBAL_ORIGIN_GROUP);
    expect(global).toBeDefined();
    const globalHosts = originsIn(run, global as Created).map((o) => o.inputs.hostName);
    const nodeHosts = run.of(T.app).map((a) => hostOf(resolvedEnv(run, a).REGIO_ADVERTISED_URL ?? ""));
    expect([...globalHosts].sort()).toEqual([...nodeHosts].sort());
    for (const region of REGIONS) {
      const group = groupNamed(run, region) as Created;
      const hosts = originsIn(run, group).map((o) => o.inputs.hostName);
      const own = run
        .of(T.app)
        .filter((a) => regionOf(a) === region)
        .map((a) => hostOf(resolvedEnv(run, a).REGIO_ADVERTISED_URL ?? ""));
      expect(hosts).toEqual(own);
    }
    for (const origin of run.of(T.origin)) {
      // Container Apps routes by host name, and Front Door checks the node's certificate.
      expect(origin.inputs).toMatchObject({
        httpsPort: 443,
        enforceCertificateNameCheck: true,
        enabledState: "Enabled",
      });
      expect(origin.inputs.originHostHeader).toBe(origin.inputs.hostName);
    }

    const routes = run.of(T.route);
    expect(routes).toHaveLength(1 + REGIONS.length);
    for (const r of routes) {
      expect(r.inputs).toMatchObject({
        patternsToMatch: ["/*"],
        httpsRedirect: "Enabled",
        forwardingProtocol: "HttpsOnly",
        linkToDefaultDomain: "Enabled",
      });
      // No caching: Front Door would not pass WebSocket upgrades through a caching route.
      expect(r.inputs.cacheConfiguration).toBeUndefined();
      // Front Door refuses a route to an empty origin group: each waits for origins.
      expect(r.dependsOn.length).toBeGreaterThan(0);
      for (const name of r.dependsOn) expect(run.of(T.origin).map((o) => o.name)).toContain(name);
    }
    const globalRoute = run.one(T.route, "global-route");
    expect(String((globalRoute.inputs.originGroup as { id: string }).id)).toMatch(
      new RegExp(`/${GLOBAL_ORIGIN_GROUP}$`),
    );

    const endpoint = run.one(T.afdEndpoint, "global-endpoint");
    const client = await settle(run.program.clientEndpoint);
    expect(client.value).toMatch(
      new RegExp(`^https://${String(endpoint.inputs.endpointName)}-[0-9a-f]+\\.z01\\.azurefd\\.net$`),
    );
    const connection = await settle(run.program.connectionString);
    expect(connection).toEqual({
      value: `Endpoint=${client.value};AccessKey=hub-access-key-0123456789abcdef0123456789abcdef;Version=1.0;`,
      secret: true,
    });
    const perRegion = await settle(run.program.regionConnectionStrings);
    expect(perRegion.secret).toBe(true);
    for (const region of REGIONS) {
      const regional = await settle(
        run.program.regionEndpoints[region]?.endpoint ?? run.program.clientEndpoint,
      );
      expect(regional.value).toMatch(/^https:\/\/.+\.azurefd\.net$/);
      expect(regional.value).not.toBe(client.value);
      expect((perRegion.value as Record<string, string>)[region]).toBe(
        `Endpoint=${regional.value};AccessKey=hub-access-key-0123456789abcdef0123456789abcdef;Version=1.0;`,
      );
    }
  });

  it("takes a custom domain with a certificate Front Door manages, and says what to put in DNS", async () => {
    const run = await runProgram({
      config: { regions: ["westeurope"], frontDoor: { customDomain: "chat.example.com" } },
    });
    const domain = run.one(T.customDomain, "custom-domain");
    expect(domain.inputs).toMatchObject({
      hostName: "chat.example.com",
      tlsSettings: { certificateType: "ManagedCertificate", minimumTlsVersion: "TLS12" },
    });
    const customDomains = run.one(T.route, "global-route").inputs.customDomains as { id: string }[];
    expect(customDomains.map((d) => d.id)).toEqual([expect.stringMatching(/\/chat-example-com$/)]);
    expect((await settle(run.program.clientEndpoint)).value).toBe("https://chat.example.com");
    const dns = run.program.customDomainDns;
    expect(dns?.txtName).toBe("_dnsauth.chat.example.com");
    expect((await settle(dns?.txtValue ?? run.program.clientEndpoint)).value).toBe(
      "token-for-chat.example.com",
    );
    expect((await settle(dns?.cnameTarget ?? run.program.clientEndpoint)).value).toMatch(/\.azurefd\.net$/);
  });
});

describe("health that means the region can serve", () => {
  it("probes every node's /readyz over HTTPS, often enough to fail over in well under a minute", async () => {
    const run = await runProgram({ config: { regions: ["westeurope", "eastus"] } });
    const groups = run.of(T.originGroup);
    expect(groups).toHaveLength(3);
    for (const group of groups) {
      const global = group.inputs.originGroupName === GLOBAL_ORIGIN_GROUP;
      expect(group.inputs.healthProbeSettings).toEqual({
        probePath: "/readyz",
        probeProtocol: "Https",
        probeRequestType: "GET",
        // Failover rides on the global group; a region's own group feeds its endpoint and alert.
        probeIntervalInSeconds: global ? 10 : 30,
      });
      const lb = group.inputs.loadBalancingSettings as {
        sampleSize: number;
        successfulSamplesRequired: number;
      };
      // An origin leaves after (sampleSize - successfulSamplesRequired + 1) failed probes.
      const failedToLeave = lb.sampleSize - lb.successfulSamplesRequired + 1;
      if (global) expect(failedToLeave * 10).toBeLessThanOrEqual(20);
      // Sessions need no affinity: polling requests are forwarded to the session's node.
      expect(group.inputs.sessionAffinityState).toBe("Disabled");
    }
    for (const app of run.of(T.app)) {
      const probes = brokerOf(app).probes ?? [];
      const path = (type: string) => probes.find((p) => p.type === type)?.httpGet.path;
      expect(path("Readiness")).toBe("/readyz");
      expect(path("Liveness")).toBe("/healthz");
      expect(path("Startup")).toBe("/healthz");
      for (const p of probes) expect(p.httpGet.port).toBe(7400);
    }
  });
});
