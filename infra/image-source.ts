import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";

/**
 * What broker/Dockerfile copies from the repository root (its build context, narrowed by
 * .dockerignore): the inputs whose change must produce a new image. infra/test checks this list
 * against the Dockerfile's COPY lines.
 */
export const IMAGE_INPUTS = [
  "package.json",
  "package-lock.json",
  "tsconfig.base.json",
  "broker/",
  "protocol/",
  "sdk/package.json",
  "tools/kafka/package.json",
  "infra/package.json",
] as const;

/** Left out of the context by .dockerignore (a local build in dist/ among them: the image compiles its own). */
const IGNORED = (path: string): boolean =>
  path
    .split(sep)
    .some((part) => part === "node_modules" || part === "dist" || part === "test" || part === ".cache") ||
  path.endsWith(".test.ts");

function files(root: string, input: string): string[] {
  const path = join(root, input);
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => !IGNORED(relative(root, file)));
}

/**
 * A digest of the build inputs: the image tag. Same sources, same tag (no rebuild, no rollout);
 * any change, a new tag, so the nodes roll onto the new image.
 */
export function imageSourceHash(root: string): string {
  const hash = createHash("sha256");
  const all = IMAGE_INPUTS.flatMap((input) => files(root, input)).sort();
  for (const file of all) {
    hash
      .update(relative(root, file).split(sep).join("/"))
      .update("\0")
      .update(readFileSync(file))
      .update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}
