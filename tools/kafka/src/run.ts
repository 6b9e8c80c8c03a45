import { spawn } from "node:child_process";
import { trackChild } from "./children.ts";

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved, for error messages. */
  output: string;
}

/**
 * Runs a short-lived command to completion, capturing its output instead of letting it reach the
 * parent's terminal (tools like mvn and StorageTool are noisy; we only show their output on failure).
 */
export function runCommand(
  command: string,
  args: readonly string[],
  opts: { timeoutMs: number; cwd?: string },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    trackChild(child); // an interrupted run must not leave mvn or StorageTool running
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${command}: ${err.message}`, { cause: err }));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output: Buffer.concat(chunks).toString("utf8") });
    });
  });
}

/** Last `lines` lines of a text, for error messages that must stay readable. */
export function lastLines(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
