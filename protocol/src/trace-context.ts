import { createTraceState, isSpanContextValid, TraceFlags, type SpanContext } from "@opentelemetry/api";
import { MessageType, type Operation, type TraceContext } from "./messages.ts";

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as it rides in app-link frames (`trace`
 * fields) and Kafka record headers (`traceparent`, `tracestate`). Written here once, so that the
 * broker and the SDK read and write the same thing whatever propagator an app registered: the wire
 * format is W3C, always.
 *
 * What arrives from a peer is checked before it is believed: a malformed `traceparent` is no trace
 * context at all (the hop starts a trace of its own or none), and an oversize `tracestate` is
 * dropped, so that nobody can make a node carry arbitrary bytes along every hop.
 */

/** W3C's own limit for what a vendor may carry in tracestate. */
export const MAX_TRACESTATE_LENGTH = 512;

// version-traceid-parentid-flags; version ff is invalid, and version 00 has exactly these fields.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The context of a span as it goes on the wire. */
export function traceContextOf(spanContext: SpanContext): TraceContext {
  const flags = spanContext.traceFlags & TraceFlags.SAMPLED ? "01" : "00";
  const traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
  const tracestate = spanContext.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** The remote span context a wire trace context names; undefined when there is none or it is malformed. */
export function spanContextOf(trace: TraceContext | undefined): SpanContext | undefined {
  if (trace === undefined) return undefined;
  const match = TRACEPARENT.exec(trace.traceparent);
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  const spanContext: SpanContext = {
    traceId: traceId!,
    spanId: spanId!,
    traceFlags: parseInt(flags!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  if (!isSpanContextValid(spanContext)) return undefined;
  const state = trace.tracestate;
  if (state && state.length <= MAX_TRACESTATE_LENGTH) spanContext.traceState = createTraceState(state);
  return spanContext;
}

/** Whether the span this context names is recorded (its trace was sampled). */
export function isSampled(spanContext: SpanContext): boolean {
  return (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0;
}

/**
 * Span attributes of the OpenTelemetry messaging semantic conventions (v1.3x, still "development"
 * there: copied, as its authors advise libraries to do, rather than imported from the incubating
 * entry point). Both the broker and the SDK name what they trace with these.
 */
export const MessagingAttribute = {
  system: "messaging.system",
  destinationName: "messaging.destination.name",
  operationType: "messaging.operation.type",
  operationName: "messaging.operation.name",
  batchMessageCount: "messaging.batch.message_count",
  messageId: "messaging.message.id",
  bodySize: "messaging.message.body.size",
  partitionId: "messaging.destination.partition.id",
  kafkaOffset: "messaging.kafka.offset",
  kafkaMessageKey: "messaging.kafka.message.key",
} as const;

/** `messaging.system` of each hop: Socket.IO to and from clients, Regio's app link, Kafka between nodes. */
export const MessagingSystem = { socketIo: "socket.io", regio: "regio", kafka: "kafka" } as const;

/** `messaging.operation.type` values. */
export const MessagingOperation = {
  create: "create",
  send: "send",
  receive: "receive",
  process: "process",
} as const;

/** How spans and metrics name each operation: as the socket.io API calls it. */
export const OPERATION_NAMES = {
  [MessageType.Broadcast]: "broadcast",
  [MessageType.BroadcastWithAck]: "broadcastWithAck",
  [MessageType.SocketsJoin]: "socketsJoin",
  [MessageType.SocketsLeave]: "socketsLeave",
  [MessageType.DisconnectSockets]: "disconnectSockets",
  [MessageType.ServerSideEmit]: "serverSideEmit",
} as const satisfies Record<Operation["type"], string>;
