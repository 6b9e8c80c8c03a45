import { spawn, type ChildProcess } from "node:child_process";
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

/** SIGKILLs a process (a SIGSTOPped one too) and waits until it is gone. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}
