// Regio's own Kafka runtime: fetch the jars once, then run real single-node KRaft clusters for
// `npm start`, the tests and `regio kafka`.
export { KAFKA_VERSION, ensureKafkaJars, kafkaCacheRoot } from "./jars.ts";
export { startKafka } from "./server.ts";
export type { KafkaHandle, StartKafkaOptions } from "./server.ts";
export type { KafkaCollector } from "./java.ts";
// The pieces other development runtimes reuse (the demo's Zipkin, fetched and run the same way).
export { withDirLock } from "./lock.ts";
export { runCommand, lastLines } from "./run.ts";
export { trackChild } from "./children.ts";
export { untilEveryThreadStopped } from "./stopped-threads.ts";
export { javaBinary } from "./java.ts";
