import type { NodeHeartbeat } from "./replicator.ts";

/**
 * What a node believes of another node's heartbeat, beyond its signature. A heartbeat makes a node
 * alive (its sockets stay in the view) and tells app servers where to link (its URL), so a signed
 * but wrong one must still not be believed: one from the future would keep a dead node alive, one
 * naming an arbitrary URL would send app servers (and their access tokens) elsewhere, one naming
 * this node's own URL under another id would impersonate it.
 */
export class HeartbeatPolicy {
  private patterns: RegExp[] | undefined;

  constructor(
    private readonly options: {
      leaseMs: number;
      /** This node's id and advertised URL (known once it listens). */
      self(): { nodeId: string; url: string };
      /** Globs a node URL must match (`*`: any run of characters within the host, port or a path segment); default from `self().url`. */
      urlPatterns?: readonly string[];
    },
  ) {}

  /** Why the heartbeat must be ignored, or undefined when it may be believed. */
  reject(heartbeat: NodeHeartbeat, now = Date.now()): string | undefined {
    // A "leaving" tombstone carries no URL: its signature (checked before) and incarnation suffice.
    if (heartbeat.leaving) return undefined;
    if (heartbeat.at > now + this.options.leaseMs) return "its time is more than a lease ahead";
    const self = this.options.self();
    if (heartbeat.nodeId !== self.nodeId && sameUrl(heartbeat.url, self.url)) {
      return "it names this node's own URL under another node id";
    }
    if (!this.urlAllowed(heartbeat.url)) return "its URL does not match the node URL pattern";
    return undefined;
  }

  private urlAllowed(url: string): boolean {
    const target = comparable(url);
    if (target === undefined) return false;
    if (!this.patterns) {
      const own = this.options.self().url;
      // Not listening yet: nothing to derive the default from (and nothing cached from nothing).
      if (!this.options.urlPatterns && !own) return false;
      this.patterns = (this.options.urlPatterns ?? defaultPatterns(own)).map(globToRegExp);
    }
    return this.patterns.some((pattern) => pattern.test(target));
  }
}

/** Same scheme and host as this node's URL (and path, if any), any port. */
export function defaultPatterns(ownUrl: string): string[] {
  const own = parse(ownUrl);
  if (!own) return [];
  const path = trimSlash(own.pathname);
  return [`${own.protocol}//${own.hostname}:*${path}`, `${own.protocol}//${own.hostname}${path}`];
}

/** `scheme://host[:port][/path]`; undefined for anything that is not a plain http(s) URL. */
function comparable(url: string): string | undefined {
  const parsed = parse(url);
  if (!parsed) return undefined;
  return `${parsed.protocol}//${parsed.host}${trimSlash(parsed.pathname)}`;
}

function parse(url: string): URL | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  // User info would let `http://trusted:1@evil.example` look like a trusted host to a naive match.
  if (!["http:", "https:"].includes(parsed.protocol) || parsed.username || parsed.password) return undefined;
  if (parsed.search || parsed.hash) return undefined;
  return parsed;
}

function sameUrl(a: string, b: string): boolean {
  const left = comparable(a);
  return left !== undefined && left === comparable(b);
}

function trimSlash(path: string): string {
  return path.endsWith("/") ? path.slice(0, -1) : path;
}

function globToRegExp(glob: string): RegExp {
  const pattern = glob
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join("[^/@?#]*");
  return new RegExp(`^${pattern}$`, "i");
}
