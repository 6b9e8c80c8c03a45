import { untilEveryThreadStopped } from "@regio/dev-kafka";
import { spawn, type ChildProcess } from "node:child_process";
import { regioArgs } from "./regio-command.ts";
import { ACCESS_KEY } from "./regio-harness.ts";

export interface CliNode {
  child: ChildProcess;
  url: string;
  nodeId: string;
  /** Everything the node wrote to stdout (its JSON log). */
  output(): string;
}

/**
 * A broker node as its own process, started through the `regio broker` CLI as an operator would,
 * so that a test can SIGKILL or SIGSTOP it. Resolves once the node listens and caught up with its
 * region (it logs "broker listening"); rejects if it exits first. The caller stops it.
 */
export async function startCliNode(
  nodeId: string,
  flags: string[],
  env: NodeJS.ProcessEnv = {},
  /** Told of the process at once, before it listens: to stop it even if it never does. */
  onSpawn: (child: ChildProcess) => void = () => {},
): Promise<CliNode> {
  const child = spawn(process.execPath, regioArgs(["broker", `--node-id=${nodeId}`, ...flags]), {
    env: { ...process.env, REGIO_ACCESS_KEY: ACCESS_KEY, REGIO_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  onSpawn(child);
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const match = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"broker listening"/.exec(out);
      if (match) {
        child.stdout!.off("data", onData);
        child.off("exit", onExit);
        resolve(match[1]!);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`node ${nodeId} exited with ${code}: ${out}`));
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
  });
  return { child, url, nodeId, output: () => out };
}

/** SIGKILLs the node and waits until it is gone. */
export async function killNode(node: CliNode): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  const exited = new Promise((resolve) => node.child.once("exit", resolve));
  node.child.kill("SIGKILL");
  await exited;
}

/**
 * SIGSTOPs a process (a hung node) and resolves once every one of its threads has stopped: kill(2)
 * only queues the signal, and a loaded machine's other threads, the event loop's among them, can
 * go on answering for milliseconds after it returned.
 */
export async function pauseProcess(child: ChildProcess): Promise<void> {
  child.kill("SIGSTOP");
  await untilEveryThreadStopped(child.pid!, 10_000);
}
