import type { RegionStatus } from "@regio/broker";
import { spawn, type ChildProcess } from "node:child_process";
import { RTT_TIE_MS } from "../../broker/src/global/route-picker.ts";
import { regioArgs } from "./regio-command.ts";

export interface CliGlobal {
  child: ChildProcess;
  url: string;
}

/**
 * `regio global` as its own process, started through the CLI as an operator would. Resolves once it
 * listens and its first round of probes is in (it logs "global endpoint listening"); rejects if it
 * exits first. The caller stops it (stopProcess).
 */
export async function startCliGlobal(flags: string[]): Promise<CliGlobal> {
  const child = spawn(process.execPath, regioArgs(["global", ...flags]), {
    env: { ...process.env, REGIO_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const match = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"global endpoint listening"/.exec(out);
      if (match) {
        child.stdout!.off("data", onData);
        child.off("exit", onExit);
        resolve(match[1]!);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`regio global exited with ${code}: ${out}`));
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
  });
  return { child, url };
}

/**
 * Whether the global endpoint at `url` measures region `near` nearer than `far` by more than a tie,
 * so that it sends new clients there. Its round-trip times are smoothed over several probes, and a
 * node just started (or restarted) on a loaded machine can answer its first probes slowly: a test
 * that expects clients in the nearer region waits for this first.
 */
export async function measuresNearer(url: string, near: string, far: string): Promise<boolean> {
  const { regions } = (await (await fetch(`${url}/regions`)).json()) as { regions: RegionStatus[] };
  const rtt = (name: string) => regions.find((region) => region.name === name)?.rttMs ?? Infinity;
  return rtt(near) + RTT_TIE_MS < rtt(far);
}

/** SIGKILLs a process (a SIGSTOPped one too) and waits until it is gone. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}
