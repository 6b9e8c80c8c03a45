import type { OauthbearerProviderResponse } from "kafkajs";

/** What the managed identity endpoint of Azure Container Apps / App Service answers. */
interface IdentityToken {
  access_token: string;
  /** Seconds since the epoch, as a string or a number. */
  expires_on: string | number;
}

export interface EntraTokenOptions {
  /** The Event Hubs namespace the token is for: `https://<namespace>.servicebus.windows.net`. */
  resource: string;
  /** A user-assigned identity's client id (AZURE_CLIENT_ID); absent: the system-assigned one. */
  clientId?: string;
  /** Where the platform serves tokens (default: IDENTITY_ENDPOINT, IDENTITY_HEADER from the environment). */
  endpoint?: string;
  header?: string;
  /** A token is fetched again this long before it expires (default 5 minutes). */
  refreshBeforeMs?: number;
}

/**
 * SASL OAUTHBEARER for Azure Event Hubs with the node's managed identity: kafkajs asks for a token
 * on every (re)authentication; this fetches one from the platform's identity endpoint and keeps it
 * until shortly before it expires. A failed fetch throws, and kafkajs retries as for a connection
 * error (the node stays not ready meanwhile, and says why).
 */
export function entraTokenProvider(options: EntraTokenOptions): () => Promise<OauthbearerProviderResponse> {
  let cached: { value: string; expiresAt: number } | undefined;
  const refreshBeforeMs = options.refreshBeforeMs ?? 5 * 60_000;
  return async () => {
    if (cached && cached.expiresAt - refreshBeforeMs > Date.now()) return { value: cached.value };
    const endpoint = options.endpoint ?? process.env.IDENTITY_ENDPOINT;
    const header = options.header ?? process.env.IDENTITY_HEADER;
    if (!endpoint || !header) {
      throw new Error("no managed identity here: IDENTITY_ENDPOINT and IDENTITY_HEADER are not set");
    }
    const url = new URL(endpoint);
    url.searchParams.set("api-version", "2019-08-01");
    url.searchParams.set("resource", options.resource);
    if (options.clientId) url.searchParams.set("client_id", options.clientId);
    const response = await fetch(url, {
      headers: { "X-IDENTITY-HEADER": header },
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok)
      throw new Error(`managed identity token: HTTP ${response.status}: ${await response.text()}`);
    const token = (await response.json()) as Partial<IdentityToken>;
    const expiresOn = Number(token.expires_on);
    if (typeof token.access_token !== "string" || !Number.isFinite(expiresOn)) {
      throw new Error("managed identity token: the answer has no access_token or expires_on");
    }
    cached = { value: token.access_token, expiresAt: expiresOn * 1000 };
    return { value: cached.value };
  };
}

/** The resource an Event Hubs namespace's tokens are for, from its Kafka bootstrap address. */
export function eventHubsResource(broker: string): string {
  return `https://${broker.split(":")[0]}`;
}
