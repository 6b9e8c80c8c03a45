import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Attributes,
  type Context,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import {
  isSampled,
  MessagingAttribute,
  MessagingOperation,
  MessagingSystem,
  spanContextOf,
  traceContextOf,
  type Payload,
  type Target,
  type TraceContext,
} from "@regio/protocol";

const TRACER_NAME = "@regio/sdk";
/** Rooms named on a span at most: a target may list thousands, a person reads a few. */
const MAX_ROOMS_ON_SPAN = 16;

/**
 * The app server's part of a message's trace, through the OpenTelemetry API only: the app owns its
 * OpenTelemetry SDK (or has none, and then all of this costs a lookup of the active span).
 *
 * Outgoing (an operation the adapter sends): done only inside an active, valid span. A sampled one
 * gets a PRODUCER span whose context travels in the frame; an unsampled one travels on as it is, so
 * that no node records anything of it either. Incoming (a client's message, an ApplyToSockets, a
 * serverSideEmit from another app server): the context the node sent becomes the active context
 * while socket.io dispatches it, under a CONSUMER span when sampled, so the app's handler spans
 * join the trace and whatever it sends back (an ack) carries the context again.
 */
export class AppTracing {
  private cachedTracer: Tracer | undefined;
  /** The context of each connection's last text message, for the binary attachments that follow it. */
  private readonly attachmentContexts = new WeakMap<object, Context>();
  private remembering = false;

  constructor(
    private readonly hub: string,
    /** The app's provider; default: the global one (whatever the app registers, even later). */
    private readonly provider?: TracerProvider,
  ) {}

  private get tracer(): Tracer {
    this.cachedTracer ??= (this.provider ?? trace.getTracerProvider()).getTracer(TRACER_NAME);
    return this.cachedTracer;
  }

  /**
   * The trace context an operation carries to the node: undefined outside an active span (nothing
   * is done then). `attributes` is called only for a span that is recorded.
   */
  outgoing(operation: string, attributes: () => Attributes): TraceContext | undefined {
    const active = context.active();
    const parent = trace.getSpanContext(active);
    if (!parent || !isSpanContextValid(parent)) return undefined;
    if (!isSampled(parent)) return traceContextOf(parent);
    const span = this.tracer.startSpan(`send ${this.hub}`, { kind: SpanKind.PRODUCER }, active);
    if (span.isRecording()) {
      span.setAttributes({
        [MessagingAttribute.system]: MessagingSystem.regio,
        [MessagingAttribute.destinationName]: this.hub,
        [MessagingAttribute.operationType]: MessagingOperation.send,
        [MessagingAttribute.operationName]: operation,
        ...attributes(),
      });
    }
    // Sent as soon as written: the span marks where the message left the app.
    span.end();
    return traceContextOf(span.spanContext());
  }

  /** Runs `dispatch` in the context the node sent (see the class comment); as is without one. */
  incoming<T>(trace: TraceContext | undefined, operation: string, dispatch: () => T): T {
    const remote = remoteContext(trace);
    if (!remote) return dispatch();
    return this.within(remote, operation, dispatch);
  }

  /**
   * A client's message. Socket.IO sends a binary packet as a text part and then its attachments,
   * and dispatches it on the last one: the attachments (which the node sends without a context) run
   * in the context of the text part before them.
   */
  clientMessage<T>(connection: object, data: Payload, trace: TraceContext | undefined, dispatch: () => T): T {
    if (typeof data !== "string") {
      const previous = this.remembering ? this.attachmentContexts.get(connection) : undefined;
      return previous ? context.with(previous, dispatch) : dispatch();
    }
    const remote = remoteContext(trace);
    if (!remote) {
      if (this.remembering) this.attachmentContexts.delete(connection);
      return dispatch();
    }
    this.remembering = true;
    return this.within(remote, "message", dispatch, (active) =>
      this.attachmentContexts.set(connection, active),
    );
  }

  private within<T>(
    remote: Context,
    operation: string,
    dispatch: () => T,
    onActive: (active: Context) => void = () => {},
  ): T {
    if (!isSampled(trace.getSpanContext(remote)!)) {
      onActive(remote);
      return context.with(remote, dispatch);
    }
    const span = this.tracer.startSpan(`process ${this.hub}`, { kind: SpanKind.CONSUMER }, remote);
    if (span.isRecording()) {
      span.setAttributes({
        [MessagingAttribute.system]: MessagingSystem.socketIo,
        [MessagingAttribute.destinationName]: this.hub,
        [MessagingAttribute.operationType]: MessagingOperation.process,
        [MessagingAttribute.operationName]: operation,
      });
    }
    const active = trace.setSpan(remote, span);
    onActive(active);
    try {
      return context.with(active, dispatch);
    } finally {
      span.end();
    }
  }
}

/**
 * The trace context of the active span, as it goes on the wire, without starting a span: what a
 * client session's data (an ack, a socket.emit) carries back to the node. Undefined outside a span.
 */
export function activeTraceContext(): TraceContext | undefined {
  const spanContext = trace.getSpanContext(context.active());
  return spanContext && isSpanContextValid(spanContext) ? traceContextOf(spanContext) : undefined;
}

/** Attributes of an operation's target, for a person reading the trace. */
export function targetAttributes(target: Target): Attributes {
  const attributes: Attributes = { "socket.io.namespace": target.nsp };
  if (target.rooms.length > 0) attributes["socket.io.rooms"] = target.rooms.slice(0, MAX_ROOMS_ON_SPAN);
  if (target.except.length > 0) attributes["socket.io.except"] = target.except.slice(0, MAX_ROOMS_ON_SPAN);
  return attributes;
}

function remoteContext(wire: TraceContext | undefined): Context | undefined {
  const spanContext = spanContextOf(wire);
  return spanContext && trace.setSpanContext(ROOT_CONTEXT, spanContext);
}
