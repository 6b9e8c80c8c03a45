import { createHash } from "node:crypto";

/**
 * Azure names for every resource the program creates.
 *
 * Names are derived, never random: the same project, stack, salt and region always give the same
 * names, so adding a region only adds names and a re-run never renames (and so never replaces) a
 * resource. Several of these names are global DNS names (registry, Event Hubs namespace, Key
 * Vault): a short hash of the full identity keeps them unique per stack
 * (set `nameSalt` to move away from a name someone else holds) and keeps two long names that share
 * a truncated prefix (australiaeast / australiasoutheast) apart.
 */
export interface NamingContext {
  project: string;
  stack: string;
  /** Free text mixed into every hash; the only way to change globally unique names on purpose. */
  salt: string;
}

const HASH_LENGTH = 8;

/** Lowercase hex prefix of SHA-256: stable across runs, machines and Node versions. */
export function stableHash(input: string, length = HASH_LENGTH): string {
  return createHash("sha256").update(input).digest("hex").slice(0, length);
}

/** Lowercase letters, digits and single hyphens, no hyphen at either end. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** Several Azure names (and DNS labels in general) must start with a letter. */
function letterFirst(text: string): string {
  return /^[a-z]/.test(text) ? text : `r${text}`;
}

/**
 * `<readable head>[-<keep>]-<hash>` in at most `max` characters. Only the head is cut, so the parts
 * that tell resources apart for people (a node index) survive, and the hash (of the full identity,
 * not of the cut text) keeps names distinct.
 */
function fit(readable: string, identity: string, max: number, keep = ""): string {
  const tail = `${keep ? `-${keep}` : ""}-${stableHash(identity)}`;
  const head = readable.slice(0, Math.max(0, max - tail.length)).replace(/-+$/, "");
  return head ? `${head}${tail}` : tail.slice(1);
}

export class Naming {
  private readonly base: string;
  private readonly identity: string;

  constructor(ctx: NamingContext) {
    this.base = letterFirst(slug(`${ctx.project}-${ctx.stack}`) || "regio");
    this.identity = `${ctx.project}\n${ctx.stack}\n${ctx.salt}`;
  }

  private id(...parts: (string | number)[]): string {
    return [this.identity, ...parts].join("\n");
  }

  /** Resource group: up to 90 characters (letters, digits, `-_.()`). */
  resourceGroup(): string {
    return fit(this.base, this.id("rg"), 90);
  }

  /** Container registry: 5-50 letters and digits only, globally unique. */
  registry(): string {
    const hash = stableHash(this.id("acr"));
    return `${this.base.replace(/[^a-z0-9]/g, "").slice(0, 50 - hash.length)}${hash}`;
  }

  /** Event Hubs namespace: 6-50 letters, digits, hyphens; starts with a letter; globally unique. */
  eventHubsNamespace(region: string): string {
    return fit(`${this.base}-${region}`, this.id("evhns", region), 50);
  }

  /** User-assigned managed identity: 3-128 characters. */
  identityName(region: string): string {
    return fit(`${this.base}-${region}`, this.id("id", region), 128, "id");
  }

  /** Key Vault: 3-24 letters, digits, single hyphens, letter first; globally unique (a DNS name). */
  keyVault(region: string): string {
    return fit(`${this.base}-${region}`, this.id("kv", region), 24);
  }

  /** Container Apps environment of a region (its default domain is `<random>.<region>.azurecontainerapps.io`). */
  environment(region: string): string {
    return fit(`${this.base}-${region}`, this.id("cae", region), 32);
  }

  /**
   * One node's Container App: lowercase letters, digits and hyphens, letter first, at most 32. Its
   * name is the first label of the node's own address, `https://<name>.<environment domain>`.
   */
  nodeApp(region: string, index: number): string {
    return fit(`${this.base}-${region}`, this.id("node", region, index), 32, `n${index}`);
  }

  /** Log Analytics workspace of the deployment: 4-63 letters, digits, hyphens. */
  logWorkspace(): string {
    return fit(this.base, this.id("log"), 63);
  }

  /** Application Insights component of the deployment. */
  appInsights(): string {
    return fit(this.base, this.id("appi"), 63);
  }

  /** Front Door profile (unique within the resource group). */
  frontDoor(): string {
    return fit(this.base, this.id("afd"), 63);
  }

  /**
   * A Front Door endpoint; also the first part of its host name `<name>-<hash>.<zone>.azurefd.net`
   * (Azure adds the hash), so it carries the stack for people who read it.
   */
  frontDoorEndpoint(purpose: string): string {
    return fit(`${this.base}-${purpose}`, this.id("afd-endpoint", purpose), 46);
  }

  /**
   * Role assignments are named by a GUID; derive one (RFC 4122 v5 layout) so it never changes.
   * `holder` is whose identity gets the role, `scope` tells apart the same role on several resources.
   */
  roleAssignment(holder: string, role: string, scope = ""): string {
    const h = stableHash(this.id("role", holder, role, ...(scope ? [scope] : [])), 32).split("");
    h[12] = "5";
    h[16] = ((parseInt(h[16] ?? "0", 16) & 0x3) | 0x8).toString(16);
    const hex = h.join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }
}
