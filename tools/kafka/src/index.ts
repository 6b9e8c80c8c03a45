// Regio's own Kafka runtime: fetch the jars once, then run real single-node KRaft clusters for
// `npm start`, the tests and `regio kafka`.
export { KAFKA_VERSION, ensureKafkaJars, kafkaCacheRoot } from "./jars.ts";
export { startKafka } from "./server.ts";
export type { KafkaHandle, StartKafkaOptions } from "./server.ts";
