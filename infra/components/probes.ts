import type * as azure from "@pulumi/azure-native";

/** The broker answers 200 here while its process is alive (the contract's liveness endpoint). */
export const HEALTH_PATH = "/healthz";
/** 200 only while the node can serve (Kafka reachable, buffers not full). */
export const READY_PATH = "/readyz";

/**
 * Traffic Manager health probe. A node or region that fails three probes 30 s apart stops being
 * handed out; with the 30 s DNS TTL below, clients move within about two minutes.
 */
export function trafficManagerProbe(port: number): azure.types.input.trafficmanager.MonitorConfigArgs {
  return {
    protocol: "HTTP",
    port,
    path: HEALTH_PATH,
    intervalInSeconds: 30,
    timeoutInSeconds: 10,
    toleratedNumberOfFailures: 3,
  };
}

/** Short enough for failover, long enough that resolvers do not hammer Traffic Manager. */
export const DNS_TTL_SECONDS = 30;

/** Container probe: Azure Container Instances restarts the container when liveness fails. */
export function containerProbe(
  path: string,
  port: number,
): azure.types.input.containerinstance.ContainerProbeArgs {
  return {
    httpGet: { path, port, scheme: "http" },
    initialDelaySeconds: 10,
    periodSeconds: 10,
    timeoutSeconds: 5,
    failureThreshold: 3,
  };
}
