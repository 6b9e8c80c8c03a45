import { join } from "node:path";

/** The java binary: `$JAVA_HOME/bin/java` when set (what Maven also uses), else `java` from PATH. */
export function javaBinary(): string {
  const home = process.env.JAVA_HOME;
  return home ? join(home, "bin", "java") : "java";
}

/** Classpath wildcard for the cached libs dir; the JVM expands `dir/*` itself, so no shell is involved. */
export function kafkaClasspath(libsDir: string): string {
  return join(libsDir, "*");
}

/**
 * JVM flags for a Kafka that shares a 2-core machine with other Kafkas, brokers and tests: a small
 * fixed heap, the serial collector (no parallel GC threads competing for the cores) and C1-only JIT,
 * which starts noticeably faster and is plenty for test traffic.
 */
export const KAFKA_JVM_FLAGS: readonly string[] = [
  "-Xms256m",
  "-Xmx512m",
  "-XX:+UseSerialGC",
  "-XX:TieredStopAtLevel=1",
  "-XX:+ExitOnOutOfMemoryError",
  "-Djava.awt.headless=true",
];
