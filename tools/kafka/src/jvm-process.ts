import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { trackChild } from "./children.ts";
import { javaBinary, kafkaClasspath, kafkaJvmFlags, type KafkaCollector } from "./java.ts";
import { untilEveryThreadStopped } from "./stopped-threads.ts";

/** How long pause() waits for the JVM's threads to stop: far above the milliseconds it takes. */
const STOP_TIMEOUT_MS = 10_000;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the JVM never ran (e.g. no java on PATH). */
  spawnError?: string;
}

export interface JvmLaunch {
  libsDir: string;
  propsFile: string;
  log4jFile: string;
  logFile: string;
  collector?: KafkaCollector;
}

/**
 * One run of the Kafka JVM, from spawn to exit. Signals go to the exact child we spawned (by its
 * ChildProcess/PID), never to processes matched by name, so other Kafkas on the machine are safe.
 */
export class KafkaJvm {
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private paused = false;
  private stopping: Promise<void> | undefined;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      // Spawn failures (e.g. no java on PATH) emit "error" and may never emit "exit".
      child.once("error", (err) => {
        this.exitInfo ??= { code: null, signal: null, spawnError: `${javaBinary()}: ${err.message}` };
        resolve(this.exitInfo);
      });
    });
  }

  static launch(l: JvmLaunch): KafkaJvm {
    // stdout/stderr go to the log file as well: the JVM prints some failures (bad flags, missing
    // classes) before log4j is up, and those must show up in the log tail of an error.
    const out = openSync(l.logFile, "a");
    try {
      const child = spawn(
        javaBinary(),
        [
          ...kafkaJvmFlags(l.collector),
          `-Dlog4j.configuration=file:${l.log4jFile}`,
          "-cp",
          kafkaClasspath(l.libsDir),
          "kafka.Kafka",
          l.propsFile,
        ],
        { stdio: ["ignore", out, out] },
      );
      trackChild(child);
      return new KafkaJvm(child);
    } finally {
      closeSync(out); // the child has its own copy of the descriptor
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** SIGTERM (Kafka's clean shutdown), then SIGKILL if it takes longer than `timeoutMs`. Idempotent. */
  terminate(timeoutMs: number): Promise<void> {
    this.stopping ??= this.doTerminate(timeoutMs);
    return this.stopping;
  }

  /** SIGKILL: simulates a crash (no clean shutdown, log recovery on next start). */
  async kill(): Promise<void> {
    this.signal("SIGKILL");
    await this.exited;
  }

  /** SIGSTOP, resolved once every thread of the JVM has stopped (see untilEveryThreadStopped). */
  async pause(): Promise<void> {
    if (!this.signal("SIGSTOP")) return;
    this.paused = true;
    await untilEveryThreadStopped(this.pid, STOP_TIMEOUT_MS, () => this.paused && !this.exitInfo);
  }

  resume(): void {
    if (this.signal("SIGCONT")) this.paused = false;
  }

  private async doTerminate(timeoutMs: number): Promise<void> {
    if (this.exitInfo) return;
    this.signal("SIGTERM");
    // A stopped process only acts on SIGTERM once it runs again.
    if (this.paused) this.resume();
    const timer = setTimeout(() => this.signal("SIGKILL"), timeoutMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private signal(sig: NodeJS.Signals): boolean {
    if (this.exitInfo) return false;
    return this.child.kill(sig);
  }
}
