import { readdir, readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

const POLL_MS = 1;

/**
 * Resolves once every thread of process `pid` is stopped (after a SIGSTOP), or at once when the
 * process is gone or this system has no /proc to tell (then the caller's SIGSTOP is all there is).
 * Rejects after `timeoutMs` naming the threads still running.
 *
 * Why wait: kill(2) only queues SIGSTOP. One thread takes it when it next runs, and only then stops
 * the others; until they are scheduled, they go on. On a loaded machine a JVM's network threads
 * answered requests several milliseconds after kill() had returned (seen here: all of a Kafka's 68
 * threads stopped 1-8 ms after the signal, with two busy processes beside it), enough for a request
 * on loopback, so a "paused" Kafka answered a test that expected silence.
 */
export async function untilEveryThreadStopped(
  pid: number,
  timeoutMs: number,
  /** False once the caller resumed the process itself (SIGCONT): nothing to wait for then. */
  stillWanted: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (stillWanted()) {
    const running = await runningThreads(pid);
    if (running === undefined || running.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `process ${pid} still had ${running.length} thread(s) running ${timeoutMs} ms after SIGSTOP: ${running.slice(0, 5).join(", ")}`,
      );
    }
    await sleep(POLL_MS);
  }
}

/**
 * The threads of `pid` not stopped, as "tid (state)"; undefined when it cannot be told (no /proc, or
 * the process is gone). States are /proc/<pid>/task/<tid>/stat's third field: T (stopped), t
 * (stopped by a tracer), X and Z (exiting) count as stopped.
 */
async function runningThreads(pid: number): Promise<string[] | undefined> {
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const running: string[] = [];
  for (const tid of tids) {
    let stat: string;
    try {
      stat = await readFile(`/proc/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    // "tid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ")".
    const state = stat.charAt(stat.lastIndexOf(")") + 2);
    if (state === "" || !"TtXZ".includes(state)) running.push(`${tid} (${state})`);
  }
  return running;
}
