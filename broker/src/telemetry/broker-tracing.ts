import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type Tracer,
} from "@opentelemetry/api";
import {
  isSampled,
  MessagingAttribute as M,
  MessagingOperation,
  MessagingSystem,
  spanContextOf,
  traceContextOf,
  type TraceContext,
} from "@regio/protocol";

/**
 * One hop of a message through this node: what the next hop's frame or record carries (`trace`),
 * and, when the message is recorded, the span and the context this node's further spans hang under.
 */
export interface Hop {
  /** The trace context for the next hop (a sampled-out one too: the decision travels on). */
  readonly trace: TraceContext | undefined;
  /** Set only when recorded: the parent of this node's further spans for the message. */
  readonly context: Context | undefined;
  readonly span: Span | undefined;
}

/**
 * How a broker node traces: every span it makes is started here, always with an explicit parent
 * (a node never reads the active context: in a process shared with app servers that would be the
 * app's). With no tracer (tracing off) every method returns undefined at once and the trace context
 * a message came with is passed on untouched; a sampled-out message is never recorded, here or by
 * any node after this one (its context travels on with the sampled flag off). Attributes are built
 * only for spans that are recorded.
 */
export class BrokerTracing {
  constructor(private readonly tracer: Tracer | undefined) {}

  get enabled(): boolean {
    return this.tracer !== undefined;
  }

  /**
   * A hop that continues `parent` (from a frame or a record) or, with none, starts a trace (the
   * sampler decides). Undefined when tracing is off: the caller passes `parent` on as it is.
   */
  hop(
    name: string,
    kind: SpanKind,
    parent: TraceContext | undefined,
    attributes: () => Attributes,
  ): Hop | undefined {
    const tracer = this.tracer;
    if (!tracer) return undefined;
    const remote = spanContextOf(parent);
    if (remote && !isSampled(remote)) return { trace: parent, context: undefined, span: undefined };
    const parentContext = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
    const span = tracer.startSpan(name, { kind }, parentContext);
    const wire = traceContextOf(span.spanContext());
    if (!span.isRecording()) return { trace: wire, context: undefined, span: undefined };
    span.setAttributes(attributes());
    return { trace: wire, context: trace.setSpan(parentContext, span), span };
  }

  /** A span of this node under a recorded hop's context; undefined when there is none. */
  child(
    name: string,
    kind: SpanKind,
    parent: Context | undefined,
    attributes: () => Attributes,
  ): Span | undefined {
    if (!parent || !this.tracer) return undefined;
    const span = this.tracer.startSpan(name, { kind }, parent);
    if (!span.isRecording()) return undefined;
    span.setAttributes(attributes());
    return span;
  }

  /**
   * A span with several parents (a Kafka write of many records): it links to each, and is the child
   * of the first, so that it shows in that message's trace for a person reading it.
   */
  linked(name: string, kind: SpanKind, links: SpanContext[], attributes: () => Attributes): Span | undefined {
    const first = links[0];
    if (!this.tracer || !first) return undefined;
    const span = this.tracer.startSpan(
      name,
      { kind, links: links.map((context) => ({ context })) },
      trace.setSpanContext(ROOT_CONTEXT, first),
    );
    if (!span.isRecording()) return undefined;
    span.setAttributes(attributes());
    return span;
  }

  /** The wire form of a recorded context (for a frame sent on behalf of it). */
  static wire(context: Context | undefined): TraceContext | undefined {
    const spanContext = context && trace.getSpanContext(context);
    return spanContext && traceContextOf(spanContext);
  }
}

/** Ends a span, marking it failed when `error` is given. */
export function endSpan(span: Span | undefined, error?: unknown): void {
  if (!span) return;
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
  }
  span.end();
}

/** Attributes of a Socket.IO hop (client to node, node to clients). */
export function socketIoAttributes(hub: string, operationType: string, operationName: string): Attributes {
  return {
    [M.system]: MessagingSystem.socketIo,
    [M.destinationName]: hub,
    [M.operationType]: operationType,
    [M.operationName]: operationName,
  };
}

/** Attributes of an app-link hop (an operation an app server sent). */
export function appLinkAttributes(hub: string, operationName: string): Attributes {
  return {
    [M.system]: MessagingSystem.regio,
    [M.destinationName]: hub,
    [M.operationType]: MessagingOperation.process,
    [M.operationName]: operationName,
  };
}

/** Attributes of a Kafka hop. */
export function kafkaAttributes(topic: string, operationType: string, operationName: string): Attributes {
  return {
    [M.system]: MessagingSystem.kafka,
    [M.destinationName]: topic,
    [M.operationType]: operationType,
    [M.operationName]: operationName,
  };
}
