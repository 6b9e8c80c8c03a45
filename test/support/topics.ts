import { randomUUID } from "node:crypto";

/** Topic names of their own for one test: the Kafka clusters are shared by the whole run. */
export function uniqueTopics(prefix: string): { events: string; membership: string; nodes: string } {
  const base = `${prefix}${randomUUID().slice(0, 8)}`;
  return { events: `${base}.events`, membership: `${base}.membership`, nodes: `${base}.nodes` };
}
