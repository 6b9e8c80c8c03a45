import type { IncomingMessage } from "node:http";
import { AppServerId, ErrorCode, HUB_NAME, RegioError, verifyLinkToken } from "@regio/protocol";

/** Who an accepted app link is: the hub it serves and the app server behind it. */
export interface AppLinkIdentity {
  hub: string;
  appServerId: AppServerId;
}

/** A refused app link: the HTTP status to answer the upgrade with, and why. */
export interface AppLinkRefusal {
  status: number;
  error: RegioError;
}

/**
 * Checks an app link's upgrade request before anything else happens: a valid hub name and a bearer
 * token (header, or `access_token` in the query) signed with the access key, for this hub.
 */
export function authenticateAppLink(
  accessKeys: readonly string[],
  hub: string,
  req: IncomingMessage,
): AppLinkIdentity | AppLinkRefusal {
  if (!HUB_NAME.test(hub)) {
    return { status: 400, error: new RegioError(ErrorCode.BadHub, `'${hub}' is not a valid hub name`) };
  }
  const token = bearerToken(req);
  if (!token) {
    return { status: 401, error: new RegioError(ErrorCode.TokenMissing, "app-link token is missing") };
  }
  try {
    return { hub, appServerId: AppServerId(verifyLinkToken(accessKeys, token, hub).sub) };
  } catch (error) {
    const regioError =
      error instanceof RegioError ? error : new RegioError(ErrorCode.TokenInvalid, String(error));
    return { status: 401, error: regioError };
  }
}

/**
 * The audience of an operator's drain token (in the hub claim): not a valid hub name, so no app-link
 * token can be one and no drain token opens an app link.
 */
export const DRAIN_AUDIENCE = "_drain";

/** An operator's request (drain): a bearer token signed with the access key, for `audience`. */
export function authenticateOperator(
  accessKeys: readonly string[],
  audience: string,
  req: IncomingMessage,
): AppLinkIdentity | AppLinkRefusal {
  const token = bearerToken(req);
  if (!token) return { status: 401, error: new RegioError(ErrorCode.TokenMissing, "token is missing") };
  try {
    return { hub: audience, appServerId: AppServerId(verifyLinkToken(accessKeys, token, audience).sub) };
  } catch (error) {
    const regioError =
      error instanceof RegioError ? error : new RegioError(ErrorCode.TokenInvalid, String(error));
    return { status: 401, error: regioError };
  }
}

function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith("Bearer ")) return header.slice("Bearer ".length).trim();
  return new URL(req.url ?? "/", "http://x").searchParams.get("access_token") ?? undefined;
}
