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
 * Which garbage collector the Kafka JVM runs. `serial` (the default): no GC threads competing for the
 * cores, the fastest start and the least idle CPU, right for tests that start Kafka after Kafka.
 * `low-pause`: ZGC, for measuring latency. Each serial young collection stops every request for
 * 18-25 ms here under steady traffic (one every ~3 s at 500 records/s), and that was the p99 of
 * cross-region delivery; ZGC pauses under 1 ms, at about 0.4 s more start-up and 0.6 % more of a
 * core when idle (bench/cross-region-latency.ts, docs/benchmarks.md).
 */
export type KafkaCollector = "serial" | "low-pause";

const COLLECTOR_FLAGS: Record<KafkaCollector, readonly string[]> = {
  serial: ["-XX:+UseSerialGC"],
  "low-pause": ["-XX:+UseZGC"],
};

/** Whether `value` names a collector startKafka knows (it may come from JavaScript, untyped). */
export function isKafkaCollector(value: unknown): value is KafkaCollector {
  return typeof value === "string" && Object.hasOwn(COLLECTOR_FLAGS, value);
}

/**
 * JVM flags for a Kafka that shares a 2-core machine with other Kafkas, brokers and tests: a small
 * fixed heap, the given collector and C1-only JIT, which starts noticeably faster and is plenty for
 * test traffic.
 */
export function kafkaJvmFlags(collector: KafkaCollector = "serial"): string[] {
  return [
    "-Xms256m",
    "-Xmx512m",
    ...COLLECTOR_FLAGS[collector],
    "-XX:TieredStopAtLevel=1",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
  ];
}
