/**
 * Zipkin's server for people to look at traces (`npm run traces`): the exec jar from Maven Central
 * (`io.zipkin:zipkin-server`), fetched with Maven once into `.cache/zipkin` as Kafka's jars are, and
 * run on 127.0.0.1 with its in-memory storage.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { javaBinary, lastLines, runCommand, trackChild, withDirLock } from "@regio/dev-kafka";

/** Zipkin 3.x runs on Java 17, which is what this machine and the Kafka runtime use. */
export const ZIPKIN_VERSION = "3.6.1";
const DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";
const MAVEN_TIMEOUT_MS = 20 * 60_000;
const REPO_ROOT = resolve(new URL("../..", import.meta.url).pathname);

export interface ZipkinHandle {
  /** Zipkin's UI: `${url}/zipkin/`; spans are posted to `${url}/api/v2/spans`. */
  readonly url: string;
  stop(): Promise<void>;
}

/** The exec jar, fetched on first use (a progress line while Maven downloads its 130 MB). */
export async function ensureZipkinJar(version = ZIPKIN_VERSION): Promise<string> {
  const dir = join(process.env.REGIO_ZIPKIN_CACHE || join(REPO_ROOT, ".cache", "zipkin"), version);
  const jar = join(dir, `zipkin-server-${version}-exec.jar`);
  const marker = join(dir, "COMPLETE");
  if (existsSync(marker)) return jar;
  await mkdir(dir, { recursive: true });
  await withDirLock(
    join(dir, ".lock"),
    async () => {
      if (existsSync(marker)) return;
      const started = Date.now();
      process.stderr.write(
        `regio: fetching Zipkin ${version} from Maven Central into ${dir} (first run only)...\n`,
      );
      const progress = setInterval(() => reportProgress(version, started), 1000);
      try {
        const result = await runCommand(
          "mvn",
          [
            "-q",
            "-B",
            `${DEPENDENCY_PLUGIN}:copy`,
            `-Dartifact=io.zipkin:zipkin-server:${version}:jar:exec`,
            `-DoutputDirectory=${dir}`,
          ],
          { timeoutMs: MAVEN_TIMEOUT_MS, cwd: dir },
        );
        if (result.code !== 0 || !existsSync(jar)) {
          await rm(jar, { force: true });
          throw new Error(
            `mvn failed to fetch Zipkin ${version} (exit ${result.code ?? result.signal}):\n${lastLines(result.output, 40)}`,
          );
        }
      } finally {
        clearInterval(progress);
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const megabytes = Math.round(statSync(jar).size / 2 ** 20);
      process.stderr.write(`\nregio: Zipkin ${version} ready (${megabytes} MB, ${seconds}s)\n`);
      await writeFile(marker, `${new Date().toISOString()}\n`);
    },
    {
      staleAfterMs: MAVEN_TIMEOUT_MS + 60_000,
      onWait: () => process.stderr.write(`regio: waiting for another process fetching Zipkin ${version}\n`),
    },
  );
  return jar;
}

/** Starts Zipkin on 127.0.0.1:`port` and resolves once it answers its health check. */
export async function startZipkin(
  options: { port?: number; readyTimeoutMs?: number } = {},
): Promise<ZipkinHandle> {
  const jar = await ensureZipkinJar();
  const port = options.port ?? 9411;
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    javaBinary(),
    [
      "-Xms64m",
      "-Xmx384m",
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      "-jar",
      jar,
      // Loopback only: traces hold what clients sent.
      `--armeria.ports[0].ip=127.0.0.1`,
      `--armeria.ports[0].port=${port}`,
      "--armeria.ports[0].protocols[0]=http",
    ],
    {
      env: { ...process.env, STORAGE_TYPE: "mem", MEM_MAX_SPANS: "200000" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  trackChild(child);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output = lastLines(output + chunk.toString(), 60)));
  child.stderr!.on("data", (chunk: Buffer) => (output = lastLines(output + chunk.toString(), 60)));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`Zipkin exited before it was ready:\n${output}`);
    try {
      const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (health.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`Zipkin did not answer ${url}/health in time:\n${output}`);
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Bytes of the artifact Maven has downloaded so far (its local repository), on one updating line. */
function reportProgress(version: string, started: number): void {
  const dir = join(homedir(), ".m2", "repository", "io", "zipkin", "zipkin-server", version);
  let bytes = 0;
  try {
    for (const name of readdirSync(dir)) if (name.includes("exec")) bytes += statSync(join(dir, name)).size;
  } catch {
    // Maven has not created the directory yet
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  const line = `regio: fetching Zipkin ${version}: ${(bytes / 2 ** 20).toFixed(0)} of about 130 MB (${seconds}s)`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line}`);
  else if (seconds % 10 === 0) process.stderr.write(`${line}\n`);
}
