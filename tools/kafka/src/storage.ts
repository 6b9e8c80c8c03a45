import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { javaBinary, kafkaClasspath } from "./java.ts";
import { lastLines, runCommand } from "./run.ts";

const FORMAT_TIMEOUT_MS = 120_000;

/**
 * Formats the KRaft log dir unless it already is, so a restart on the same dataDir keeps every topic
 * and record. meta.properties is what StorageTool writes last and what Kafka checks at start-up.
 * Returns the cluster id recorded there, which lets readiness tell our Kafka from a stranger's.
 */
export async function formatStorageIfNeeded(
  libsDir: string,
  propsFile: string,
  logDirs: string,
): Promise<string> {
  const metaFile = join(logDirs, "meta.properties");
  if (!existsSync(metaFile)) await format(libsDir, propsFile);
  const clusterId = /^cluster\.id=(.+)$/m.exec(await readFile(metaFile, "utf8"))?.[1]?.trim();
  if (!clusterId) throw new Error(`no cluster.id in ${metaFile}`);
  return clusterId;
}

async function format(libsDir: string, propsFile: string): Promise<void> {
  const result = await runCommand(
    javaBinary(),
    [
      "-Xmx256m",
      "-cp",
      kafkaClasspath(libsDir),
      "kafka.tools.StorageTool",
      "format",
      "-t",
      newClusterId(),
      "-c",
      propsFile,
    ],
    { timeoutMs: FORMAT_TIMEOUT_MS },
  );
  if (result.code !== 0) {
    throw new Error(
      `Kafka StorageTool format failed (exit ${result.code ?? result.signal}) for ${propsFile}:\n` +
        lastLines(result.output, 30),
    );
  }
}

/** A Kafka cluster id: 16 random bytes as URL-safe base64 (what `kafka-storage random-uuid` prints). */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    // A leading "-" would be parsed as an option by StorageTool's argument parser.
    if (!id.startsWith("-")) return id;
  }
}
