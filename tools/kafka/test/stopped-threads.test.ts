import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { untilEveryThreadStopped } from "../src/stopped-threads.ts";

/** A process with three busy threads (main and two workers), the case where SIGSTOP lands late. */
async function busyProcess(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "-e",
      // Says "up" once both workers spin, then spins too.
      `const { Worker } = require("node:worker_threads");
       let up = 0;
       for (let i = 0; i < 2; i++) {
         new Worker("for (;;) {}", { eval: true }).on("online", () => {
           if (++up === 2) process.stdout.write("up\\n", () => { for (;;) {} });
         });
       }`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  await once(child.stdout!, "data");
  return child;
}

function threadStates(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2);
  });
}

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  }
});

describe("untilEveryThreadStopped", () => {
  it("resolves once every thread of a busy process is stopped", async () => {
    const child = await busyProcess();
    expect(threadStates(child.pid!).filter((state) => state === "R").length).toBeGreaterThan(0);
    for (let round = 0; round < 5; round++) {
      child.kill("SIGSTOP");
      await untilEveryThreadStopped(child.pid!, 10_000);
      expect(new Set(threadStates(child.pid!))).toEqual(new Set(["T"]));
      child.kill("SIGCONT");
    }
  });

  it("rejects naming the running threads when the process does not stop", async () => {
    const child = await busyProcess();
    await expect(untilEveryThreadStopped(child.pid!, 50)).rejects.toThrow(
      new RegExp(
        `process ${child.pid} still had \\d+ thread\\(s\\) running 50 ms after SIGSTOP: \\d+ \\(R\\)`,
      ),
    );
  });

  it("resolves for a process that is gone, and when the caller no longer wants it stopped", async () => {
    const child = await busyProcess();
    await untilEveryThreadStopped(child.pid!, 10_000, () => false);
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
    await untilEveryThreadStopped(child.pid!, 10_000);
  });
});
