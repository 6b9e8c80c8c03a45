import type { IHeaders } from "kafkajs";
import { LogThrottle } from "../../log-throttle.ts";
import type { Logger } from "../../logger.ts";
import type { ReplicationHandlers } from "../replicator.ts";
import { decodeEvent, decodeHeartbeat, decodeMembership } from "./record-codec.ts";

/** Which stream a record belongs to. */
export type RecordKind = "events" | "membership" | "nodes";

/** A record as read from Kafka. */
export interface ReadRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
  offset: string;
}

/**
 * Where every record read from Kafka enters the node: it is decoded and checked for shape, and only
 * then handed on, except the node's own records (the one-hop rule).
 * What fails is dropped and logged (at most every few seconds per reason), never applied.
 */
export class RecordIntake {
  private readonly throttle = new LogThrottle();

  constructor(
    private readonly options: {
      selfNodeId: string;
      handlers: ReplicationHandlers;
      log: Logger;
    },
  ) {}

  accept(kind: RecordKind, topic: string, record: ReadRecord): void {
    const { handlers, selfNodeId } = this.options;
    try {
      if (kind === "events") {
        const event = decodeEvent(record.value, record.headers);
        if (!event) return this.drop("not a Regio event", topic, record);
        if (event.origin.nodeId !== selfNodeId) handlers.record(event);
      } else if (kind === "membership") {
        const membership = decodeMembership(record.key, record.value, record.headers);
        if (!membership) return this.drop("not a membership record", topic, record);
        if (membership.owner.nodeId !== selfNodeId) handlers.membership(membership);
      } else {
        const heartbeat = decodeHeartbeat(record.key, record.value);
        if (!heartbeat) return this.drop("not a heartbeat", topic, record);
        if (heartbeat.nodeId !== selfNodeId) handlers.heartbeat(heartbeat);
      }
    } catch (error) {
      this.drop("cannot be decoded", topic, record, error);
    }
  }

  private drop(reason: string, topic: string, record: ReadRecord, error?: unknown): void {
    this.throttle.log(reason, (suppressed) =>
      this.options.log.warn(
        { topic, offset: record.offset, err: error === undefined ? undefined : String(error), suppressed },
        `record dropped: ${reason}`,
      ),
    );
  }
}
