import type { ChildProcess } from "node:child_process";

/** Child processes (Kafka JVMs, mvn, StorageTool) started by this module that have not exited yet. */
const live = new Set<ChildProcess>();
let hooksInstalled = false;

/**
 * Registers a child so it dies with us: a crashed or interrupted test run must not leave JVMs
 * holding ports and memory. "exit" handlers may only do synchronous work, hence plain SIGKILL.
 */
export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
  installHooks();
}

function killAll(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone; nothing to clean up.
    }
  }
  live.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAll);
  // A signal's default action ends Node without running "exit" handlers. If nobody else handles the
  // signal, kill the children and then re-raise it so the process still dies the way it would have.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      if (process.listenerCount(signal) > 0) return; // someone else owns shutdown; "exit" still covers us
      killAll();
      process.kill(process.pid, signal);
    });
  }
}
