import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { ensureKafkaJars } from "./jars.ts";
import { isKafkaCollector, type KafkaCollector } from "./java.ts";
import { KafkaJvm, type ExitInfo } from "./jvm-process.ts";
import { summarizeLog } from "./log-tail.ts";
import { findFreePort } from "./ports.ts";
import { renderLog4jProperties, renderServerProperties } from "./properties.ts";
import { pollUntilReady } from "./readiness.ts";
import { formatStorageIfNeeded } from "./storage.ts";

export interface StartKafkaOptions {
  /** Client (PLAINTEXT) port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Kept across restarts (topics and records survive). Default: a fresh temp dir, deleted by stop(). */
  dataDir?: string;
  /** KRaft controller port on 127.0.0.1. Default: a free one. */
  controllerPort?: number;
  /** Kafka's own log. Default: `<dataDir>/kafka.log`. */
  logFile?: string;
  /** Overall bound on formatting + start-up + readiness. Default 60 s. */
  readyTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 20 s. */
  stopTimeoutMs?: number;
  /** The JVM's garbage collector: "serial" (default) or "low-pause" for latency measurements. */
  collector?: KafkaCollector;
}

export interface KafkaHandle {
  /** Bootstrap string for clients: "127.0.0.1:<port>". */
  readonly brokers: string;
  /** PID of the current JVM (changes after restart()). */
  readonly pid: number;
  readonly port: number;
  readonly controllerPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  /** Clean shutdown (SIGTERM, SIGKILL after a bound). Idempotent. Removes dataDir if we created it. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit: a crash, for fault tests. restart() afterwards recovers the log. */
  kill(): Promise<void>;
  /** SIGSTOP: Kafka stays up but answers nothing, like a hung node. Resolves once it has stopped. */
  pause(): Promise<void>;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops (if running) and starts again on the same ports and dataDir; resolves when ready. */
  restart(): Promise<void>;
}

interface ResolvedConfig {
  libsDir: string;
  port: number;
  controllerPort: number;
  dataDir: string;
  ownsDataDir: boolean;
  logFile: string;
  propsFile: string;
  log4jFile: string;
  readyTimeoutMs: number;
  stopTimeoutMs: number;
  collector: KafkaCollector;
}

/** Starts a single-node KRaft Kafka (broker + controller in one JVM) and resolves once it serves clients. */
export async function startKafka(opts: StartKafkaOptions): Promise<KafkaHandle> {
  const config = await resolveConfig(opts);
  try {
    return new KafkaServer(config, await launchUntilReady(config));
  } catch (err) {
    // The error already carries the log excerpt; a scratch dir nobody else knows about would just leak.
    if (config.ownsDataDir) await rm(config.dataDir, { recursive: true, force: true });
    throw err;
  }
}

class KafkaServer implements KafkaHandle {
  private stopped = false;

  constructor(
    private readonly config: ResolvedConfig,
    private jvm: KafkaJvm,
  ) {}

  get brokers(): string {
    return `127.0.0.1:${this.config.port}`;
  }
  get pid(): number {
    return this.jvm.pid;
  }
  get port(): number {
    return this.config.port;
  }
  get controllerPort(): number {
    return this.config.controllerPort;
  }
  get dataDir(): string {
    return this.config.dataDir;
  }
  get logFile(): string {
    return this.config.logFile;
  }

  async stop(): Promise<void> {
    await this.jvm.terminate(this.config.stopTimeoutMs);
    if (this.stopped) return;
    this.stopped = true;
    if (this.config.ownsDataDir) await rm(this.config.dataDir, { recursive: true, force: true });
  }

  kill(): Promise<void> {
    return this.jvm.kill();
  }

  pause(): Promise<void> {
    return this.jvm.pause();
  }

  resume(): void {
    this.jvm.resume();
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error(`Kafka ${this.brokers} was stopped; start a new one instead`);
    await this.jvm.terminate(this.config.stopTimeoutMs);
    this.jvm = await launchUntilReady(this.config);
    // stop() may have been called while we were starting; it only saw the old JVM.
    if (this.stopped) await this.jvm.terminate(this.config.stopTimeoutMs);
  }
}

async function resolveConfig(opts: StartKafkaOptions): Promise<ResolvedConfig> {
  const collector = opts.collector ?? "serial";
  if (!isKafkaCollector(collector)) {
    throw new Error(`unknown collector ${JSON.stringify(collector)}: use "serial" or "low-pause"`);
  }
  const libsDir = await ensureKafkaJars();
  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = resolve(opts.dataDir ?? (await mkdtemp(join(tmpdir(), "regio-kafka-"))));
  await mkdir(dataDir, { recursive: true });
  return {
    libsDir,
    port: opts.port === 0 ? await findFreePort() : opts.port,
    controllerPort: opts.controllerPort ?? (await findFreePort()),
    dataDir,
    ownsDataDir,
    logFile: resolve(opts.logFile ?? join(dataDir, "kafka.log")),
    propsFile: join(dataDir, "server.properties"),
    log4jFile: join(dataDir, "log4j.properties"),
    readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 20_000,
    collector,
  };
}

/** Writes config, formats storage if new, spawns the JVM and waits for readiness; kills it on failure. */
async function launchUntilReady(c: ResolvedConfig): Promise<KafkaJvm> {
  const deadline = Date.now() + c.readyTimeoutMs;
  const brokers = `127.0.0.1:${c.port}`;
  const logDirs = join(c.dataDir, "logs");
  await writeFile(
    c.propsFile,
    renderServerProperties({ port: c.port, controllerPort: c.controllerPort, logDirs }),
  );
  await writeFile(c.log4jFile, renderLog4jProperties(c.logFile));
  await mkdir(dirname(c.logFile), { recursive: true });
  const clusterId = await formatStorageIfNeeded(c.libsDir, c.propsFile, logDirs);

  const jvm = KafkaJvm.launch(c);
  const processGone = new AbortController();
  void jvm.exited.then(() => processGone.abort());
  const ready = await pollUntilReady(c.port, clusterId, deadline, processGone.signal);
  if (ready) return jvm;

  const exit = jvm.exit;
  // Never leave a half-started JVM behind: it would hold the ports and break the next attempt.
  await jvm.kill();
  const what = exit
    ? `${describeExit(exit)} before it was ready`
    : `was not ready after ${Math.round(c.readyTimeoutMs / 1000)} s`;
  throw new Error(
    `Kafka ${brokers} (pid ${jvm.pid}, dataDir ${c.dataDir}) ${what}.\n${await summarizeLog(c.logFile)}`,
  );
}

function describeExit(exit: ExitInfo): string {
  if (exit.spawnError) return `could not be started (${exit.spawnError})`;
  return exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal ?? "a signal"}`;
}
