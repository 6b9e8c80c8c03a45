import { ConfigError, integer, parseFlags, port } from "../config.ts";

/** One region as the global endpoint sees it: a name and its broker nodes' URLs. */
export interface RegionSpec {
  name: string;
  nodes: string[];
}

export interface GlobalConfig {
  host: string;
  port: number;
  /** In order of preference when round-trip times are equal. */
  regions: RegionSpec[];
  probeIntervalMs: number;
  probeTimeoutMs: number;
  /** Failed probes in a row before a node gets no more requests. */
  downAfter: number;
  /** Successful probes in a row before it gets them again. */
  upAfter: number;
  /** A node that sends nothing for this long is given up on a proxied request (504). */
  proxyTimeoutMs: number;
}

/** Flag -> environment variable; a flag given on the command line wins. */
const FLAGS = {
  port: "REGIO_GLOBAL_PORT",
  host: "REGIO_GLOBAL_HOST",
  "probe-interval": "REGIO_GLOBAL_PROBE_INTERVAL",
  "probe-timeout": "REGIO_GLOBAL_PROBE_TIMEOUT",
  "down-after": "REGIO_GLOBAL_DOWN_AFTER",
  "up-after": "REGIO_GLOBAL_UP_AFTER",
  "proxy-timeout": "REGIO_GLOBAL_PROXY_TIMEOUT",
} as const;

export const GLOBAL_USAGE = `usage: regio global --region NAME=URL[,URL] [--region ...] [options]
The global endpoint for clients (a local stand-in for Azure Traffic Manager / Front Door): a new
client goes to the nearest healthy region, a request of a session to the node that owns it.
  --region NAME=URL,URL     a region and its nodes (repeatable)       REGIO_GLOBAL_REGIONS="a=u,u;b=u"
                            (equal round-trip times: the order given)
  --port N                  listen port, 0-65535 (7300)               REGIO_GLOBAL_PORT
  --host ADDR               bind address (127.0.0.1)                  REGIO_GLOBAL_HOST
  --probe-interval MS       probe of each node's /readyz (1000)       REGIO_GLOBAL_PROBE_INTERVAL
  --probe-timeout MS        a probe unanswered this long fails (1000) REGIO_GLOBAL_PROBE_TIMEOUT
  --down-after N            failed probes before a node is out (2)    REGIO_GLOBAL_DOWN_AFTER
  --up-after N              good probes before it is back (2)         REGIO_GLOBAL_UP_AFTER
  --proxy-timeout MS        node silent on a request: 504 (50000)     REGIO_GLOBAL_PROXY_TIMEOUT
                            (at least the brokers' ping interval + ping timeout)
  --help                    this text
  --version                 the version of regio`;

export function parseGlobalConfig(argv: string[], env: NodeJS.ProcessEnv): GlobalConfig {
  const values = parseFlags(argv, {
    ...Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: "string" as const }])),
    region: { type: "string", multiple: true },
  });
  const flags = values as Record<string, string | string[] | undefined>;
  const get = (flag: keyof typeof FLAGS): string | undefined =>
    (flags[flag] as string | undefined) ?? env[FLAGS[flag]];
  const specs =
    (flags.region as string[] | undefined) ?? (env.REGIO_GLOBAL_REGIONS ?? "").split(";").filter(Boolean);
  const regions = specs.map(regionSpec);
  if (regions.length === 0) throw new ConfigError("at least one --region NAME=URL[,URL] is required");
  const names = regions.map((r) => r.name);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) throw new ConfigError(`region '${repeated}' is given twice`);
  const positive = (flag: keyof typeof FLAGS, fallback: string): number => {
    const value = integer(get(flag) ?? fallback, flag);
    if (value === 0) throw new ConfigError(`--${flag} must be at least 1`);
    return value;
  };
  return {
    port: port(get("port") ?? "7300", "port"),
    host: get("host") ?? "127.0.0.1",
    regions,
    probeIntervalMs: positive("probe-interval", "1000"),
    probeTimeoutMs: positive("probe-timeout", "1000"),
    downAfter: positive("down-after", "2"),
    upAfter: positive("up-after", "2"),
    proxyTimeoutMs: positive("proxy-timeout", "50000"),
  };
}

function regionSpec(spec: string): RegionSpec {
  const eq = spec.indexOf("=");
  if (eq <= 0) throw new ConfigError(`--region '${spec}' must look like NAME=URL[,URL]`);
  const nodes = spec
    .slice(eq + 1)
    .split(",")
    .map((url) => url.trim())
    .filter(Boolean);
  if (nodes.length === 0) throw new ConfigError(`--region '${spec}' names no node URL`);
  return { name: spec.slice(0, eq), nodes: nodes.map(nodeUrl) };
}

/** Node URLs are plain http origins: TLS belongs to the router in front, in the cloud. */
function nodeUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`node URL '${text}' is not a URL`);
  }
  if (url.protocol !== "http:") throw new ConfigError(`node URL '${text}' must start with http://`);
  return url.origin;
}
