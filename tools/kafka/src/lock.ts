import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** What the lock holder writes into the lock dir, so waiters can tell a live holder from a crashed one. */
interface LockOwner {
  pid: number;
  host: string;
}

// A holder that never wrote its owner file crashed right after mkdir; give it this long before stealing.
const OWNERLESS_GRACE_MS = 30_000;

/**
 * Runs `fn` while holding a cross-process lock implemented as a directory (mkdir is atomic on every
 * local filesystem, unlike "check then create a file"). A lock whose holder died is taken over, so a
 * killed download never blocks later runs. `onWait` is called once if another holder makes us wait.
 */
export async function withDirLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  opts: { staleAfterMs: number; onWait?: () => void },
): Promise<T> {
  let waited = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (err) {
      if (!isErrno(err, "EEXIST")) throw err;
    }
    if (await isStale(lockDir, opts.staleAfterMs)) {
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!waited) {
      waited = true;
      opts.onWait?.();
    }
    await sleep(250);
  }
  try {
    const owner: LockOwner = { pid: process.pid, host: hostname() };
    await writeFile(join(lockDir, "owner.json"), JSON.stringify(owner));
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

async function isStale(lockDir: string, staleAfterMs: number): Promise<boolean> {
  let ageMs: number;
  try {
    ageMs = Date.now() - (await stat(lockDir)).mtimeMs;
  } catch (err) {
    // Vanished between our mkdir and stat: the holder just released it, so simply retry.
    if (isErrno(err, "ENOENT")) return false;
    throw err;
  }
  if (ageMs > staleAfterMs) return true;
  const owner = await readOwner(lockDir);
  if (owner === undefined) return ageMs > OWNERLESS_GRACE_MS;
  // Only a holder on this machine can be checked by PID (the cache may sit on a shared disk).
  return owner.host === hostname() && !isAlive(owner.pid);
}

async function readOwner(lockDir: string): Promise<LockOwner | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(lockDir, "owner.json"), "utf8"));
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const { pid, host } = parsed as Record<string, unknown>;
    return typeof pid === "number" && typeof host === "string" ? { pid, host } : undefined;
  } catch {
    // Missing or half-written owner file: treated as "no owner yet".
    return undefined;
  }
}

/** True if a process with this PID exists (signal 0 checks without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM means it exists but belongs to someone else.
    return isErrno(err, "EPERM");
  }
}

export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
