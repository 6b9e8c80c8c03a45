import type * as azure from "@pulumi/azure-native";

/** The broker answers 200 here while its process is alive (the contract's liveness endpoint). */
export const HEALTH_PATH = "/healthz";
/**
 * 200 while the node can serve clients and publish in its own region; a peer region's outage does
 * not make it 503 (brief §5), so routing on it never takes a healthy region out.
 */
export const READY_PATH = "/readyz";

/**
 * Front Door's health probe of every node behind the global endpoint, on the node's readiness,
 * over HTTPS (Front Door probes on the port it forwards to: 443, through the node's TLS ingress).
 * Front Door takes an origin out when fewer than `successfulSamplesRequired` of the last
 * `sampleSize` probes succeeded: with a probe every 10 s and 3 of 4 required, two failed probes do
 * it, so a region that stops being ready is out about 20 s after (plus one probe's time when the
 * failure is a hang rather than a 503). Front Door is a proxy, not DNS: there is no TTL to wait
 * for; a client's next connection attempt goes to the next-nearest ready region. README "How
 * failover behaves" gives the sums.
 */
export const GLOBAL_PROBE: azure.types.input.cdn.HealthProbeParametersArgs = {
  probePath: READY_PATH,
  probeProtocol: "Https",
  probeRequestType: "GET",
  probeIntervalInSeconds: 10,
};

/**
 * The same probe for each region's own origin group (its endpoint, and the not-ready alert, which
 * averages over 5 minutes anyway), three times less often: every Front Door edge location probes
 * every origin of every group, and each probe is a request the node serves and is billed for.
 */
export const REGIONAL_PROBE: azure.types.input.cdn.HealthProbeParametersArgs = {
  ...GLOBAL_PROBE,
  probeIntervalInSeconds: 30,
};

export const FRONT_DOOR_LOAD_BALANCING: azure.types.input.cdn.LoadBalancingSettingsParametersArgs = {
  sampleSize: 4,
  successfulSamplesRequired: 3,
  // Nodes within 50 ms of the fastest share its traffic: a region's nodes are, other regions are not.
  additionalLatencyInMilliseconds: 50,
};

/**
 * A node's container probes. Startup gives the broker a minute to connect to Kafka and read the
 * regions' views; liveness restarts a hung process; readiness (the same /readyz Front Door uses)
 * decides when a new revision takes over from the old one during an update.
 */
export function containerProbes(port: number): azure.types.input.app.ContainerAppProbeArgs[] {
  const get = (path: string) => ({ path, port, scheme: "HTTP" });
  return [
    { type: "Startup", httpGet: get(HEALTH_PATH), periodSeconds: 6, timeoutSeconds: 3, failureThreshold: 10 },
    {
      type: "Liveness",
      httpGet: get(HEALTH_PATH),
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
    },
    {
      type: "Readiness",
      httpGet: get(READY_PATH),
      periodSeconds: 5,
      timeoutSeconds: 3,
      failureThreshold: 2,
      successThreshold: 1,
    },
  ];
}
