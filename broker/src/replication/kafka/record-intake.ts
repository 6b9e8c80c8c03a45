import type { IHeaders } from "kafkajs";
import { LogThrottle } from "../../log-throttle.ts";
import type { Logger } from "../../logger.ts";
import type { ReplicationHandlers } from "../replicator.ts";
import { decodeEvent, decodeHeartbeat, decodeMembership } from "./record-codec.ts";
import type { RecordKind, RecordSigner } from "./record-signature.ts";

/** A record as read from Kafka. */
export interface ReadRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
  offset: string;
  /** The record's timestamp, ms since the epoch, as Kafka gives it. */
  timestamp?: string;
}

/**
 * Where every record read from Kafka enters the node: its signature is verified, it is decoded and
 * checked for shape, and only then handed on, except the node's own records (the one-hop rule).
 * What fails is dropped and logged (at most every few seconds per reason), never applied.
 */
export class RecordIntake {
  private readonly throttle = new LogThrottle();

  constructor(
    private readonly options: {
      selfNodeId: string;
      signer: RecordSigner;
      handlers: ReplicationHandlers;
      /** Events stamped before this are history: read for recovery, delivered to no one. */
      liveFrom?: number;
      log: Logger;
    },
  ) {}

  accept(kind: RecordKind, topic: string, partition: number, record: ReadRecord): void {
    const { signer, handlers, selfNodeId } = this.options;
    if (!signer.verify(kind, record.key, record.value, record.headers)) {
      return this.drop("unsigned, or not signed with the access key", topic, record);
    }
    try {
      if (kind === "events") {
        const event = decodeEvent(record.value, record.headers);
        if (!event) return this.drop("not a Regio event", topic, record);
        const liveFrom = this.options.liveFrom;
        event.via = { topic, partition, offset: record.offset };
        if (record.timestamp !== undefined) event.publishedAt = Number(record.timestamp);
        if (liveFrom !== undefined && Number(record.timestamp) < liveFrom) event.history = true;
        // A node's own records come back to it only as history (from an earlier start of it), which
        // is kept for recovery and delivered to no one: the one-hop rule holds.
        if (event.origin.nodeId !== selfNodeId || event.history) handlers.record(event);
      } else if (kind === "membership") {
        const membership = decodeMembership(record.key, record.value, record.headers);
        if (!membership) return this.drop("not a membership record", topic, record);
        if (membership.owner.nodeId !== selfNodeId) handlers.membership(membership);
      } else {
        const heartbeat = decodeHeartbeat(record.key, record.value, record.headers);
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
