import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:net";
import { fileURLToPath } from "node:url";

const REGIO_BIN = fileURLToPath(new URL("../../broker/bin/regio.mjs", import.meta.url));

/**
 * Node's arguments for `regio <args>` in this repository: the CLI's bin, resolving every @regio/*
 * package to its TypeScript sources (the `@regio/source` condition, run by tsx) so that a test
 * always runs the code as it is, never a stale build (docs/adr/0008). `nodeArgs` go to Node first.
 * The installed, compiled CLI is tested from packed tarballs (test/packaging).
 */
export function regioArgs(args: string[], nodeArgs: string[] = []): string[] {
  return ["--conditions=@regio/source", "--import", "tsx", ...nodeArgs, REGIO_BIN, ...args];
}

export interface RegioRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `regio <args>` to its end (help, version, a refusal): exit code and both outputs. One that
 * does not end by itself within `timeoutMs` (a broker that accepted what it should have refused) is
 * killed, so that the test fails instead of leaving it running.
 */
export async function runRegio(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 15_000,
): Promise<RegioRun> {
  const child = spawn(process.execPath, regioArgs(args), {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    return await finished(child);
  } finally {
    clearTimeout(killer);
  }
}

/** Waits for a child's exit and returns its exit code (null: killed by a signal) and all it wrote. */
export async function finished(child: ChildProcess): Promise<RegioRun> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
  return { code, stdout, stderr };
}

/** A port of 127.0.0.1 held by a plain TCP server until `close()`: a port in use. */
export async function occupiedPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A port of 127.0.0.1 nothing listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const held = await occupiedPort();
  await held.close();
  return held.port;
}
