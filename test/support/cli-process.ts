import { spawn, type ChildProcess } from "node:child_process";
import { ACCESS_KEY } from "./regio-harness.ts";

export interface CliProcess {
  child: ChildProcess;
  /** The URL the process logged once it was listening. */
  url: string;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
}

/**
 * Runs `regio <command> ...args` as a process of its own (the real CLI), so that a test can SIGKILL
 * or SIGSTOP it, and resolves with the URL from its "<ready message>" log line. Every process it
 * starts is added to `children`: the caller kills them all after the test, pass or fail.
 */
export async function startCli(
  children: ChildProcess[],
  command: "broker" | "global",
  args: string[],
  readyMessage: string,
): Promise<CliProcess> {
  const child = spawn(process.execPath, ["broker/bin/regio.mjs", command, ...args], {
    env: { ...process.env, REGIO_ACCESS_KEY: ACCESS_KEY, REGIO_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Its errors are shown as they come, and kept for the message if it exits before it is ready.
  let errors = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    process.stderr.write(chunk);
    if (errors.length < 10_000) errors += chunk.toString();
  });
  children.push(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const pattern = new RegExp(`"url":"(http://[^"]+)"[^\\n]*"msg":"${readyMessage}"`);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = pattern.exec(out);
      if (match) {
        // Keep reading (and dropping) its logs: a full pipe would block the process.
        out = "";
        child.stdout!.off("data", onData);
        child.stdout!.resume();
        resolve(match[1]!);
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code, signal) =>
      reject(new Error(`regio ${command} exited with ${code ?? signal}: ${errors}\n${out}`)),
    );
  });
  return {
    child,
    url,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** A broker node as its own process; `peers` are the other regions' Kafkas (`name=host:port`). */
export function startBrokerProcess(
  children: ChildProcess[],
  options: {
    nodeId: string;
    region: string;
    kafka: string;
    peers?: string[];
    port?: number;
    topics: { events: string; membership: string; nodes: string };
    extra?: string[];
  },
): Promise<CliProcess> {
  return startCli(
    children,
    "broker",
    [
      `--port=${options.port ?? 0}`,
      `--node-id=${options.nodeId}`,
      `--region=${options.region}`,
      `--kafka=${options.kafka}`,
      ...(options.peers ?? []).map((peer) => `--peer=${peer}`),
      `--topic-events=${options.topics.events}`,
      `--topic-membership=${options.topics.membership}`,
      `--topic-nodes=${options.topics.nodes}`,
      ...(options.extra ?? []),
    ],
    "broker listening",
  );
}

/** Stops every process a test started: SIGKILL (SIGSTOPped ones included), then waits for each. */
export async function killAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.splice(0).map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGKILL");
      await gone;
    }),
  );
}
