import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { withDirLock } from "./lock.ts";
import { lastLines, runCommand } from "./run.ts";

/** Latest 3.9 patch on Maven Central; 3.9.x is the line kafkajs 2.2.4 is known to work with (4.x is not). */
export const KAFKA_VERSION = "3.9.2";
const SCALA_VERSION = "2.13";
// Kafka's distribution ships this SLF4J binding; the kafka_2.13 POM leaves the choice of binding to us.
const EXTRA_ARTIFACTS = [
  { groupId: "org.slf4j", artifactId: "slf4j-reload4j", version: "1.7.36" },
  { groupId: "ch.qos.reload4j", artifactId: "reload4j", version: "1.2.25" },
];
// Pinned so the result does not depend on whichever old plugin version the local Maven defaults to.
const DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";
const MAVEN_TIMEOUT_MS = 15 * 60_000;

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Root of the jar cache: `$REGIO_KAFKA_CACHE`, else `<repo>/.cache/kafka`. Jars go in `<root>/<version>/libs`. */
export function kafkaCacheRoot(): string {
  // Empty means unset; a relative path is taken from the working directory, made absolute because
  // Maven runs in another directory.
  const configured = process.env.REGIO_KAFKA_CACHE;
  return configured ? resolve(configured) : join(REPO_ROOT, ".cache", "kafka");
}

/**
 * Makes sure the Kafka jars are in the cache and returns the libs dir (use as `-cp '<libs>/*'`).
 * The first call downloads with Maven; later calls only check a marker file, which is written after the
 * jars were moved into place, so an interrupted download is simply redone. Concurrent callers (test
 * workers, several processes) serialise on a lock dir and each download lands in a private temp dir
 * that is renamed into place, so nobody ever sees a half-filled libs dir.
 */
export async function ensureKafkaJars(version: string = KAFKA_VERSION): Promise<string> {
  const versionDir = join(kafkaCacheRoot(), version);
  const libsDir = join(versionDir, "libs");
  const marker = join(versionDir, "COMPLETE");
  if (existsSync(marker)) return libsDir;

  await mkdir(versionDir, { recursive: true });
  await withDirLock(
    join(versionDir, ".lock"),
    async () => {
      // Another process may have finished while we waited for the lock.
      if (existsSync(marker)) return;
      await removeAbandonedDownloads(versionDir);
      await download(version, versionDir, libsDir);
      await writeFile(marker, `${new Date().toISOString()}\n`);
    },
    {
      staleAfterMs: MAVEN_TIMEOUT_MS + 60_000,
      onWait: () =>
        process.stderr.write(`regio: waiting for another process fetching Kafka ${version} jars\n`),
    },
  );
  return libsDir;
}

async function download(version: string, versionDir: string, libsDir: string): Promise<void> {
  const started = Date.now();
  process.stderr.write(
    `regio: fetching Kafka ${version} jars from Maven Central into ${libsDir} (first run only)...\n`,
  );
  const workDir = join(versionDir, `.download-${process.pid}-${Date.now()}`);
  await mkdir(workDir, { recursive: true });
  try {
    const pom = join(workDir, "pom.xml");
    const outDir = join(workDir, "libs");
    await writeFile(pom, renderPom(version));
    const result = await runCommand(
      "mvn",
      [
        "-q",
        "-B",
        "-f",
        pom,
        `${DEPENDENCY_PLUGIN}:copy-dependencies`,
        `-DoutputDirectory=${outDir}`,
        "-DincludeScope=runtime",
      ],
      { timeoutMs: MAVEN_TIMEOUT_MS, cwd: workDir },
    );
    if (result.code !== 0) {
      throw new Error(
        `mvn failed to fetch Kafka ${version} jars (exit ${result.code ?? result.signal}):\n` +
          lastLines(result.output, 40),
      );
    }
    const jars = (await readdir(outDir)).filter((f) => f.endsWith(".jar"));
    if (!jars.includes(`kafka_${SCALA_VERSION}-${version}.jar`)) {
      throw new Error(`mvn finished but kafka_${SCALA_VERSION}-${version}.jar is missing from ${outDir}`);
    }
    // A libs dir without a marker is a leftover of a crash between rename and marker write.
    await rm(libsDir, { recursive: true, force: true });
    await rename(outDir, libsDir);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stderr.write(`regio: Kafka ${version} jars ready (${jars.length} jars, ${seconds}s)\n`);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Temp dirs of downloads whose process died; safe to delete because we hold the lock. */
async function removeAbandonedDownloads(versionDir: string): Promise<void> {
  const leftovers = (await readdir(versionDir)).filter((name) => name.startsWith(".download-"));
  await Promise.all(leftovers.map((name) => rm(join(versionDir, name), { recursive: true, force: true })));
}

function renderPom(version: string): string {
  const deps = [
    { groupId: "org.apache.kafka", artifactId: `kafka_${SCALA_VERSION}`, version },
    ...EXTRA_ARTIFACTS,
  ]
    .map(
      (d) =>
        `    <dependency><groupId>${d.groupId}</groupId><artifactId>${d.artifactId}</artifactId>` +
        `<version>${d.version}</version></dependency>`,
    )
    .join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by regio to fetch Kafka's runtime jars; not a real build. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.regio.internal</groupId>
  <artifactId>kafka-runtime-fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
${deps}
  </dependencies>
</project>
`;
}
