/**
 * The server processes of bench/idle-memory.ts and bench/echo.ts (bench/idle-server.ts, one role
 * each), so that each one's heap and CPU are measured apart from the clients'.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Measurement } from "./idle-server.ts";

/** The benchmarks' access key (32 bytes or more, as every node requires). */
export const BENCH_ACCESS_KEY = "bench-access-key-of-at-least-32-bytes";

export interface Child {
  process: ChildProcess;
  url?: string;
  path?: string;
  control: string;
}

export function startChild(role: string, env: Record<string, string> = {}): Promise<Child> {
  // REGIO_BENCH_SERVER_FLAGS: Node flags for the server processes alone, to profile them (say,
  // `--cpu-prof --cpu-prof-dir=/tmp/prof`), as bench/fanout.ts takes them.
  const flags = process.env.REGIO_BENCH_SERVER_FLAGS?.split(" ").filter(Boolean) ?? [];
  const child = spawn(
    process.execPath,
    [
      ...flags,
      "--expose-gc",
      "--conditions=@regio/source",
      "--import",
      "tsx",
      new URL("./idle-server.ts", import.meta.url).pathname,
      role,
    ],
    { env: { ...process.env, REGIO_LOG_LEVEL: "silent", ...env }, stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    // The first line that is a JSON object: flags such as --trace-deopt print to stdout too.
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = /^\{.*\}$/m.exec(out)?.[0];
      if (line) resolve({ process: child, ...JSON.parse(line) });
    });
    child.once("exit", (code) => reject(new Error(`idle-server ${role} exited with ${code}`)));
  });
}

export async function measure(child: Child, what: "measure" | "cpu"): Promise<Measurement> {
  return (await (await fetch(`${child.control}/${what}`)).json()) as Measurement;
}

export async function stopAll(children: Child[]): Promise<void> {
  await Promise.all(
    children.map((child) => {
      if (child.process.exitCode !== null || child.process.signalCode !== null) return;
      const exited = new Promise((resolve) => child.process.once("exit", resolve));
      child.process.kill();
      return exited;
    }),
  );
}
