import { readFileSync } from "node:fs";

/** The version of @regio/broker, from its package.json (two levels up from src/cli/ and dist/cli/ alike). */
export function regioVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version?: unknown;
  };
  return typeof manifest.version === "string" ? manifest.version : "unknown";
}
