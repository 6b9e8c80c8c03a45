/**
 * Checks for raw stack configuration values (as `pulumi.Config` returns them: JSON values, or text
 * for keys set without `--path`). Every failure names the key, so a typo is reported before deploy.
 */
export const CONFIG_NAMESPACE = "regio";

export type Raw = Record<string, unknown>;

export function fail(key: string, why: string): never {
  throw new Error(`config ${CONFIG_NAMESPACE}:${key}: ${why}`);
}

function isObject(value: unknown): value is Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function optObject(value: unknown, key: string): Raw {
  if (value === undefined) return {};
  if (!isObject(value)) fail(key, "must be an object");
  return value;
}

export function optNumber(value: unknown, key: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n < min || n > max) {
    fail(key, `must be a number from ${min} to ${max}`);
  }
  return n;
}

export function optString(value: unknown, key: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") fail(key, "must be a non-empty string");
  return value;
}

export function optBoolean(value: unknown, key: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  return fail(key, "must be true or false");
}

/** A list given as a YAML/JSON array or as one comma-separated string; each entry checked. */
export function optList(
  value: unknown,
  key: string,
  check: (entry: string) => boolean,
  what: string,
): string[] {
  if (value === undefined) return [];
  const entries = typeof value === "string" ? value.split(",").map((e) => e.trim()) : value;
  if (!Array.isArray(entries)) fail(key, `must be a list of ${what}`);
  return entries.map((entry: unknown, i) => {
    if (typeof entry !== "string" || !check(entry)) fail(`${key}[${i}]`, `"${String(entry)}" is not ${what}`);
    return entry;
  });
}

export function oneOf<T extends string>(value: unknown, key: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    fail(key, `must be one of ${allowed.join(", ")}`);
  }
  return value as T;
}
