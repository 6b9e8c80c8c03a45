import { createHmac, timingSafeEqual } from "node:crypto";
import { ErrorCode, RegioError } from "./errors.ts";

/**
 * App-link tokens are JWTs (HS256) signed with the hub's access key, so an app server in any
 * language can mint one with a stock JWT library. Claims: `hub` (the hub the link serves),
 * `sub` (the app server's id), `iat` and `exp` (seconds). Tokens are short-lived: the SDK mints a
 * fresh one for every link attempt.
 */
export interface LinkClaims {
  hub: string;
  sub: string;
  iat: number;
  exp: number;
}

const HEADER = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
/** Clock skew tolerated between app server and broker. */
const SKEW_SECONDS = 30;
/** Longest validity a token may claim: a leaked token must not open links for days. */
export const MAX_TOKEN_LIFETIME_SECONDS = 3600;

export function signLinkToken(
  accessKey: string,
  claims: { hub: string; sub: string; ttlSeconds?: number },
  now = Date.now(),
): string {
  const iat = Math.floor(now / 1000);
  const body: LinkClaims = { hub: claims.hub, sub: claims.sub, iat, exp: iat + (claims.ttlSeconds ?? 300) };
  const unsigned = `${HEADER}.${base64url(JSON.stringify(body))}`;
  return `${unsigned}.${sign(accessKey, unsigned)}`;
}

/**
 * Verifies signature, algorithm, time window and hub; throws RegioError with the reason otherwise.
 * Several access keys may be valid at once (while one is rotated out): any of them verifies.
 */
export function verifyLinkToken(
  accessKeys: string | readonly string[],
  token: string,
  hub: string,
  now = Date.now(),
): LinkClaims {
  const parts = token.split(".");
  if (parts.length !== 3) throw new RegioError(ErrorCode.TokenInvalid, "token is not a JWT");
  const [header, payload, signature] = parts as [string, string, string];
  const actual = Buffer.from(signature);
  const signedWith = (key: string): boolean => {
    const expected = Buffer.from(sign(key, `${header}.${payload}`));
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  };
  if (!(typeof accessKeys === "string" ? [accessKeys] : accessKeys).some(signedWith)) {
    throw new RegioError(ErrorCode.TokenInvalid, "token signature does not match the access key");
  }
  const alg = parseJson(header)?.alg;
  if (alg !== "HS256") throw new RegioError(ErrorCode.TokenInvalid, "token algorithm must be HS256");
  const claims = parseJson(payload);
  if (
    !claims ||
    typeof claims.hub !== "string" ||
    typeof claims.sub !== "string" ||
    typeof claims.exp !== "number" ||
    typeof claims.iat !== "number"
  ) {
    throw new RegioError(ErrorCode.TokenInvalid, "token claims hub, sub, iat and exp are required");
  }
  if (claims.exp - claims.iat > MAX_TOKEN_LIFETIME_SECONDS) {
    throw new RegioError(
      ErrorCode.TokenInvalid,
      `token lifetime exceeds ${MAX_TOKEN_LIFETIME_SECONDS} s (exp - iat = ${claims.exp - claims.iat})`,
    );
  }
  const seconds = now / 1000;
  if (claims.exp + SKEW_SECONDS < seconds) throw new RegioError(ErrorCode.TokenExpired, "token has expired");
  if (claims.iat - SKEW_SECONDS > seconds)
    throw new RegioError(ErrorCode.TokenExpired, "token is not valid yet");
  if (claims.hub !== hub) {
    throw new RegioError(ErrorCode.TokenInvalid, `token is for hub '${claims.hub}', not '${hub}'`);
  }
  return claims as unknown as LinkClaims;
}

function sign(key: string, data: string): string {
  return createHmac("sha256", key).update(data).digest("base64url");
}

function base64url(text: string): string {
  return Buffer.from(text).toString("base64url");
}

function parseJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString());
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
