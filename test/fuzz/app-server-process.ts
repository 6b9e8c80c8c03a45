import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { AppServerStats } from "./app-server.ts";

export interface AppServerProcess {
  child: ChildProcess;
  /** Asks the process for what it caught; proves its event loop still answers. */
  stats(timeoutMs?: number): Promise<AppServerStats>;
  /** The last lines it wrote to stderr (a crash's stack trace). */
  stderr(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts test/fuzz/app-server.ts as its own process, linked to the node (hub "chat") and to the fake
 * node (hub "fuzz"); resolves once it printed its ready line, rejects if it exits first.
 */
export async function startAppServerProcess(env: {
  nodeUrl: string;
  fakeNodeUrl: string;
  accessKey: string;
}): Promise<AppServerProcess> {
  const child = spawn(
    process.execPath,
    ["--conditions=@regio/source", "--import", "tsx", "test/fuzz/app-server.ts"],
    {
      env: {
        ...process.env,
        REGIO_FUZZ_NODE_URL: env.nodeUrl,
        REGIO_FUZZ_FAKE_NODE_URL: env.fakeNodeUrl,
        REGIO_ACCESS_KEY: env.accessKey,
      },
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<(stats: AppServerStats) => void> = [];
  const ready = new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Error(`app server exited (${code ?? signal}) before it was ready:\n${stderr}`));
    child.once("exit", onExit);
    lines.on("line", (line) => {
      const message = JSON.parse(line) as { ready?: boolean; stats?: AppServerStats };
      if (message.ready) {
        child.off("exit", onExit);
        resolve();
      }
      if (message.stats) waiting.shift()?.(message.stats);
    });
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const handle: AppServerProcess = {
    child,
    stderr: () => stderr,
    stats: (timeoutMs = 5000) =>
      new Promise<AppServerStats>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`app server gave no stats in ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiting.push((stats) => {
          clearTimeout(timer);
          resolve(stats);
        });
        child.stdin!.write("stats\n");
      }),
    async stop(graceMs = 5000) {
      if (exited()) return;
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await gone;
      clearTimeout(timer);
    },
  };
  try {
    await ready;
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return handle;
}
