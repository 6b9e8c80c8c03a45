import { SpanKind, type Attributes } from "@opentelemetry/api";
import type { NodeId } from "@regio/protocol";
import {
  ErrorCode,
  MessageType,
  MessagingAttribute,
  MessagingOperation,
  OPERATION_NAMES,
  RegioError,
  SendFlags,
  StreamId,
  type Operation,
} from "@regio/protocol";
import { LogThrottle } from "../log-throttle.ts";
import type { Logger } from "../logger.ts";
import { RefusedForNow, type ReplicatedRecord, type Replicator } from "../replication/replicator.ts";
import { SequenceGate } from "../replication/sequence-gate.ts";
import {
  appLinkAttributes,
  kafkaAttributes,
  type BrokerTracing,
  type Hop,
} from "../telemetry/broker-tracing.ts";
import type { HubStats } from "../telemetry/hub-stats.ts";
import type { AppLink } from "./app-link.ts";
import type { OperationExecutor } from "./operations.ts";
import type { RecoveryLog } from "./recovery-log.ts";
import { formatOffset, streamTag } from "./recovery-offset.ts";

export interface IntakeContext {
  hub: string;
  nodeId: NodeId;
  region: string;
  replicator: Replicator;
  log: Logger;
  tracing: BrokerTracing;
  stats: HubStats;
  /** Largest operation (its app-link frame) accepted: it must fit one record of the replication log. */
  maxOperationBytes: number;
  /** Where recoverable broadcasts are kept for sessions that come back. */
  recoveryLog: RecoveryLog;
}

/**
 * Where every operation enters a hub on this node, from an app link or from the log, and the one
 * place that decides whether it runs: each is executed once and in its stream's order (the sequence
 * gate), and an app server's operation is checked (size, sequence range), executed at once for this
 * node's clients, published, and acknowledged only once the replicator took it. Records read from
 * the log are executed and never published again (the one-hop rule).
 */
export class OperationIntake {
  readonly gate: SequenceGate<() => void>;
  /** Stream -> its short tag in recovery offsets. */
  private readonly tags = new Map<string, string>();
  /** Operations (stream, seq) handed to the replicator and not yet accepted. */
  private readonly publishing = new Set<string>();
  /** Links to tell where their stream resumes after the moment's refusals for now (see refusedForNow). */
  private readonly refusals = new Map<AppLink, { seq: number; error: RegioError }>();
  /** Per link, the highest seq acknowledged: a refused seq at or below it is a copy (see refusedForNow). */
  private readonly highestAcked = new WeakMap<AppLink, number>();
  private readonly throttle = new LogThrottle();

  constructor(
    private readonly ctx: IntakeContext,
    private readonly executor: OperationExecutor,
  ) {
    this.gate = new SequenceGate(
      (execute) => execute(),
      (stream, from, to) =>
        ctx.log.warn({ hub: ctx.hub, stream, from, to }, "operations never arrived; moving on without them"),
    );
  }

  /** A record another node published: executed for this node's clients, never published again. */
  fromLog(record: ReplicatedRecord): void {
    const history = record.history === true;
    if (!history) this.ctx.stats.operation(OPERATION_NAMES[record.operation.type], "replication");
    // A record that came without a trace context starts no trace here: its node started none. History
    // (read at start for recovery, delivered to no one) is not a hop of its message.
    const hop = record.trace && !history ? this.consumed(record) : undefined;
    const via = hop ?? untraced(record.trace);
    const verdict = this.gate.offer(record.stream, record.seq, () =>
      this.run(record.operation, undefined, record.stream, record.seq, history, via, record.publishedAt),
    );
    hop?.span?.setAttribute("regio.gate", verdict).end();
    if (verdict !== "out of range") return;
    this.throttle.log("out of range", (suppressed) =>
      this.ctx.log.warn(
        {
          hub: this.ctx.hub,
          stream: record.stream,
          seq: record.seq,
          origin: record.origin.nodeId,
          suppressed,
        },
        "replicated operation out of its stream's range; dropped",
      ),
    );
  }

  /** An operation an app server sent over its link (`frameBytes`: the frame it came in). */
  fromLink(link: AppLink, operation: Operation, frameBytes: number): void {
    if (frameBytes > this.ctx.maxOperationBytes) {
      // It could not be replicated: refused now, with the reason, rather than accepted and stuck.
      const error = new RegioError(
        ErrorCode.PayloadTooLarge,
        `operation of ${frameBytes} bytes exceeds the ${this.ctx.maxOperationBytes} bytes this node accepts`,
      );
      return link.sendError(error, operation.seq === 0 ? requestOf(operation) : { seq: operation.seq });
    }
    const name = OPERATION_NAMES[operation.type];
    this.ctx.stats.operation(name, "app_link");
    const hop = this.ctx.tracing.hop(`process ${this.ctx.hub}`, SpanKind.CONSUMER, operation.trace, () => ({
      ...appLinkAttributes(this.ctx.hub, name),
      ...targetAttributes(operation),
      "regio.seq": operation.seq,
      "regio.app_server.id": link.appServerId,
    }));
    const via = hop ?? untraced(operation.trace);
    try {
      this.admit(link, operation, via, hop);
    } finally {
      hop?.span?.end();
    }
  }

  private admit(link: AppLink, operation: Operation, via: Hop, hop: Hop | undefined): void {
    // seq 0: requests (with acknowledgements) and `local` broadcasts: not sequenced, not replicated.
    if (operation.seq === 0) return this.executor.execute(operation, link, via);
    if (operation.type === MessageType.BroadcastWithAck) return;
    const stream = link.stream ?? StreamId(link.appServerId);
    if (!this.gate.accepts(stream, operation.seq)) {
      const error = new RegioError(
        ErrorCode.BadSequence,
        `seq ${operation.seq} is out of this stream's range`,
      );
      return link.sendError(error, { seq: operation.seq });
    }
    // A duplicate was executed here already (sent before a re-link, or read from another node after
    // the SDK failed over); it is still published, for nodes that may not have it yet.
    const seq = operation.seq;
    const verdict = this.gate.offer(stream, seq, () => this.run(operation, link, stream, seq, false, via));
    hop?.span?.setAttribute("regio.gate", verdict);
    this.publish(link, {
      hub: this.ctx.hub,
      origin: { region: this.ctx.region, nodeId: this.ctx.nodeId },
      stream,
      seq: operation.seq,
      operation,
      trace: via.trace,
    });
  }

  /** An app server unlinked: its stream is not held back here behind what it may never re-send. */
  unlinked(link: AppLink): void {
    this.ctx.replicator.forgetRefused?.(link.stream ?? StreamId(link.appServerId));
  }

  close(): void {
    this.gate.close();
  }

  /**
   * Carries out an operation the gate let through. A recoverable broadcast gets its recovery offset
   * (this node's position in every stream, this one included) and goes to the recovery log; history
   * (read at start, from before this node served) only goes there.
   */
  private run(
    operation: Operation,
    origin: AppLink | undefined,
    stream: string,
    seq: number,
    history: boolean,
    via: Hop,
    publishedAt?: number,
  ): void {
    const position = { tag: this.tag(stream), seq };
    const recoverable =
      operation.type === MessageType.Broadcast && (operation.flags & SendFlags.recoverable) !== 0;
    if (!recoverable) {
      if (!history) this.executor.execute(operation, origin, via, position);
      return;
    }
    const positions = new Map<string, number>();
    for (const [name, last] of this.gate.positions())
      positions.set(this.tag(name), name === stream ? seq : last);
    // History is kept as of when it was published: the log covers the window before this node's start.
    const at = history && publishedAt !== undefined ? publishedAt : Date.now();
    const packet = this.executor.recoverablePacket(operation, formatOffset({ at, positions }));
    if (!packet) {
      if (!history) this.executor.execute(operation, origin, via, position);
      return;
    }
    if (!history) this.executor.deliver(operation, packet, origin, via, position);
    this.ctx.recoveryLog.add(position.tag, seq, operation.target, packet, at);
  }

  /** The CONSUMER span of a record read from the log (Kafka, or the in-process bus). */
  private consumed(record: ReplicatedRecord): Hop | undefined {
    const { via, operation } = record;
    const name = OPERATION_NAMES[operation.type];
    const attributes = (): Attributes => ({
      ...(via
        ? {
            ...kafkaAttributes(via.topic, MessagingOperation.process, "process"),
            [MessagingAttribute.partitionId]: String(via.partition),
            [MessagingAttribute.kafkaOffset]: Number(via.offset),
            [MessagingAttribute.kafkaMessageKey]: record.stream,
          }
        : appLinkAttributes(this.ctx.hub, name)),
      [MessagingAttribute.messageId]: `${record.stream}/${record.seq}`,
      "regio.hub": this.ctx.hub,
      "regio.operation": name,
      "regio.origin.region": record.origin.region,
      "regio.origin.node": record.origin.nodeId,
      ...targetAttributes(operation),
    });
    const destination = via ? via.topic : this.ctx.hub;
    return this.ctx.tracing.hop(`process ${destination}`, SpanKind.CONSUMER, record.trace, attributes);
  }

  /**
   * Tells the SDK where its stream resumes after refusals for now (retriable), once per link for
   * all that the replicator refused together (one frame's or one re-send's operations): the seq the
   * replicator waits for, as of its last refusal (RefusedForNow.resumeFrom: it took every operation
   * below it and takes none above it until that one comes), else the lowest refused. The SDK
   * re-sends from there on the next acks, when the log has taken something and there is room,
   * instead of at its periodic re-send. A copy of an operation this link had acknowledged (a
   * re-send that crossed its ack) is not named: the SDK no longer holds it and would ignore the
   * whole notice. The stream's order makes that test sound: a later seq is acknowledged only after
   * every earlier one was taken.
   */
  private refusedForNow(link: AppLink, refused: number, error: unknown): void {
    const seq = error instanceof RefusedForNow ? error.resumeFrom : refused;
    if (seq === undefined || seq <= (this.highestAcked.get(link) ?? 0)) return;
    const refusal = this.refusals.get(link);
    if (refusal) {
      // The replicator's latest word on where the stream resumes is the true one (what came before
      // it in the moment may have been taken since); otherwise the lowest refused.
      refusal.seq = error instanceof RefusedForNow ? seq : Math.min(refusal.seq, seq);
      return;
    }
    if (this.refusals.size === 0) queueMicrotask(() => this.sendRefusals());
    const retriable =
      error instanceof RegioError
        ? error
        : new RegioError(ErrorCode.LinkDown, `not replicated: ${String(error)}`);
    this.refusals.set(link, { seq, error: retriable });
  }

  private sendRefusals(): void {
    for (const [link, { seq, error }] of this.refusals) link.sendError(error, { seq });
    this.refusals.clear();
  }

  private tag(stream: string): string {
    let tag = this.tags.get(stream);
    if (tag === undefined) this.tags.set(stream, (tag = streamTag(StreamId(stream))));
    return tag;
  }

  /**
   * The ack waits for the replicator: until then the SDK keeps the operation and re-sends it, so an
   * operation is never lost between node and log. A full buffer rejects; the SDK hears which one
   * (see refusedForNow) and re-sends it as acks free room. One re-sent while its first copy still
   * waits for the log is answered by the first copy's ack.
   */
  private publish(link: AppLink, record: ReplicatedRecord): void {
    const key = `${record.stream}\u0000${record.seq}`;
    if (this.publishing.has(key)) return;
    this.publishing.add(key);
    this.ctx.replicator.publish(record).then(
      () => {
        this.publishing.delete(key);
        if (record.seq > (this.highestAcked.get(link) ?? 0)) this.highestAcked.set(link, record.seq);
        link.send({ type: MessageType.OpAck, seq: record.seq });
      },
      (error: unknown) => {
        this.publishing.delete(key);
        // Refused for good (the log will never take it): the SDK drops it and the app hears why.
        // Otherwise (a full buffer) the SDK hears which, and re-sends it when there is room.
        if (error instanceof RegioError && !error.retriable) link.sendError(error, { seq: record.seq });
        else this.refusedForNow(link, record.seq, error);
        // Said once per interval: a log that is down refuses every operation until it is back.
        const kind = `not accepted:${error instanceof RegioError ? error.code : "other"}`;
        this.throttle.log(kind, (suppressed) =>
          this.ctx.log.warn(
            { hub: this.ctx.hub, seq: record.seq, err: String(error), suppressed },
            "operation not accepted",
          ),
        );
      },
    );
  }
}

/** How an operation that is not recorded here passes its trace context on (undefined: none). */
const NOT_TRACED: Hop = { trace: undefined, context: undefined, span: undefined };
function untraced(trace: Hop["trace"]): Hop {
  return trace ? { trace, context: undefined, span: undefined } : NOT_TRACED;
}

/** Where an operation goes, for a person reading its span. */
function targetAttributes(operation: Operation): Attributes {
  if (!("target" in operation)) return { "socket.io.namespace": operation.nsp };
  const { nsp, rooms } = operation.target;
  return rooms.length > 0
    ? { "socket.io.namespace": nsp, "socket.io.rooms": rooms.slice(0, 16) }
    : { "socket.io.namespace": nsp };
}

/** The request an unsequenced operation carries, for an Error that answers it. */
function requestOf(operation: Operation): { requestId?: number } {
  return "requestId" in operation && operation.requestId !== undefined
    ? { requestId: operation.requestId }
    : {};
}
