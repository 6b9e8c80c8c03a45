import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { MessageType, RegioError, type Hello, type Message, StreamId } from "@regio/protocol";
import type { SessionWriter } from "../engine/virtual-connection.ts";
import { brokerError, DEFAULT_MAX_OPERATION_BYTES, NodeLink, type NodeLinkOptions } from "./node-link.ts";
import { DEFAULT_OUTBOX_OPTIONS, Outbox, type OutboxOptions, type UnsequencedOperation } from "./outbox.ts";
import { RefusedResend } from "./refused-resend.ts";
import { ResendBackoff } from "./resend-backoff.ts";

export type { UnsequencedOperation } from "./outbox.ts";

/** Answers to a request: return true when the request is complete. */
type ReplyHandler = (message: Message) => boolean;

interface PendingRequest {
  build: (requestId: number) => Message;
  onReply: ReplyHandler;
  resend: boolean;
}

/**
 * What must survive a move to other nodes or another region: the operation stream (its name, its
 * numbers, what is not acknowledged yet and the replay window) and the pending requests. Shared by
 * every LinkSet an app server uses.
 */
/** Nodes one region's links reach at most (a Hello listing more is not believed past it). */
const MAX_LINKED_NODES = 64;

export interface LinkState {
  /** Names this process's operation stream: a restart under the same app server id is a new stream. */
  readonly stream: StreamId;
  readonly outbox: Outbox;
  lastRequestId: number;
  readonly requests: Map<number, PendingRequest>;
}

export function newLinkState(appServerId: string, outbox: OutboxOptions = DEFAULT_OUTBOX_OPTIONS): LinkState {
  return {
    stream: StreamId(`${appServerId}/${randomUUID().slice(0, 8)}`),
    outbox: new Outbox(outbox),
    lastRequestId: 0,
    requests: new Map(),
  };
}

export interface LinkSetEvents {
  up: [hello: Hello];
  /** A message for the app (sessions, ApplyToSockets, ServerSideEmitDeliver) and the link it came on. */
  message: [message: Message, link: NodeLink];
  /** A node's link went down: the sessions it carried are gone. */
  down: [link: NodeLink];
  error: [error: RegioError];
}

export interface LinkSetOptions extends Omit<NodeLinkOptions, "endpoint" | "stream"> {
  endpoint: URL;
  /** Unacknowledged operations are re-sent this long after they were last sent (default 3 s). */
  resendAfterMs?: number;
  /**
   * The set replaces a region that was lost: its first primary gets the replay window too, since
   * the lost region may have acknowledged operations other regions never read.
   */
  replay?: boolean;
}

/**
 * An app server's links to every broker node of its region. Any node may hand it client sessions;
 * operations and requests go to one node at a time (the primary: the first link that is up, in
 * the order the nodes were learned). The set never loses an operation: each gets a sequence number,
 * stays in the outbox until some node acknowledges it (after replicating it), and is re-sent to the
 * primary whenever the primary changes or comes back, on the primary's acknowledgements after it
 * refused it for now (RefusedResend), and periodically while unacknowledged; nodes execute each
 * number once. Requests (fetchSockets, serverCount) are re-sent too.
 */
export class LinkSet extends EventEmitter<LinkSetEvents> {
  private readonly links = new Map<string, NodeLink>();
  private primary: NodeLink | undefined;
  private readonly state: LinkState;
  /** URLs found to lead to a node already linked under another URL. */
  private readonly aliases = new Set<string>();
  private readonly resendTimer: NodeJS.Timeout;
  /** What the primary refused for now goes again as its acknowledgements free room. */
  private readonly refusedResend: RefusedResend;
  /** How long the periodic re-send waits: longer while the primary acknowledges nothing. */
  private readonly backoff: ResendBackoff;
  private closed = false;

  private replayPending: boolean;

  constructor(
    private readonly options: LinkSetOptions,
    state: LinkState = newLinkState(options.appServerId),
  ) {
    super();
    this.state = state;
    this.refusedResend = new RefusedResend(state.outbox);
    this.replayPending = options.replay === true;
    const resendAfterMs = options.resendAfterMs ?? 3000;
    this.backoff = new ResendBackoff(resendAfterMs);
    this.resendTimer = setInterval(() => this.resendStale(resendAfterMs), resendAfterMs / 2);
    this.resendTimer.unref();
  }

  get isUp(): boolean {
    return this.primary !== undefined;
  }

  /** The nodes linked now, for diagnostics and tests. */
  linkedNodes(): string[] {
    return [...this.links.values()].filter((l) => l.isUp).map((l) => l.nodeId ?? l.endpoint.href);
  }

  start(): void {
    this.addLink(this.options.endpoint);
  }

  /**
   * Numbers an operation, keeps it until acknowledged and sends it to the primary (or later, when
   * one is up). Throws PAYLOAD_TOO_LARGE or BUFFER_FULL without keeping it.
   */
  sendOperation(operation: UnsequencedOperation): number {
    const entry = this.state.outbox.add(operation, this.maxOperationBytes);
    this.primary?.sendFrame(entry.frame);
    return entry.seq;
  }

  /** The largest operation the nodes accept (as the primary said; the broker's default before). */
  get maxOperationBytes(): number {
    return this.primary?.maxOperationBytes ?? DEFAULT_MAX_OPERATION_BYTES;
  }

  /**
   * Sends a message to every node of the region this app server is linked to: for what each node
   * must do for the clients it holds itself (a `local` broadcast). Returns how many nodes got it.
   */
  sendToAll(message: Message): number {
    const up = [...this.links.values()].filter((link) => link.isUp);
    for (const link of up) link.send(message);
    return up.length;
  }

  /** A request every linked node answers (never re-sent); returns how many nodes were asked. */
  requestAll(
    build: (requestId: number) => Message,
    onReply: ReplyHandler,
  ): { nodes: number; cancel: () => void } {
    const requestId = ++this.state.lastRequestId;
    this.state.requests.set(requestId, { build, onReply, resend: false });
    const nodes = this.sendToAll(build(requestId));
    return { nodes, cancel: () => this.state.requests.delete(requestId) };
  }

  /**
   * Sends a request and routes its replies to onReply until it reports completion. Reads are
   * re-sent after a failover; requests that deliver something (`resend: false`) are not, since a
   * second delivery could reach clients twice: they time out instead, as socket.io's do.
   */
  request(
    build: (requestId: number) => Message,
    onReply: ReplyHandler,
    options = { resend: true },
  ): () => void {
    const requestId = ++this.state.lastRequestId;
    this.state.requests.set(requestId, { build, onReply, resend: options.resend });
    this.primary?.send(build(requestId));
    return () => this.state.requests.delete(requestId);
  }

  /**
   * A request to one node in particular (the one holding a session), answered on that link; never
   * re-sent elsewhere (what it asks is about that node).
   */
  requestOn(link: SessionWriter, build: (requestId: number) => Message, onReply: ReplyHandler): () => void {
    const requestId = ++this.state.lastRequestId;
    this.state.requests.set(requestId, { build, onReply, resend: false });
    link.send(build(requestId));
    return () => this.state.requests.delete(requestId);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.resendTimer);
    await Promise.all([...this.links.values()].map((link) => link.close()));
  }

  private addLink(endpoint: URL): void {
    const key = endpoint.href;
    if (this.links.has(key) || this.aliases.has(key) || this.closed) return;
    const outbox = this.state.outbox;
    const link = new NodeLink({
      ...this.options,
      endpoint,
      stream: this.state.stream,
      lastSeq: () => outbox.lastSeq,
    });
    this.links.set(key, link);
    link.on("up", (hello) => {
      // The same node under two URLs (a regional address and its own): keep one link to it.
      const twin = [...this.links.values()].some((l) => l !== link && l.isUp && l.nodeId === hello.nodeId);
      if (twin) {
        this.links.delete(key);
        this.aliases.add(key);
        void link.close();
        return;
      }
      this.learnNodes(hello);
      if (!this.primary) this.choosePrimary();
      if (this.primary === link) this.emit("up", hello);
    });
    link.on("nodes", (hello) => this.learnNodes(hello));
    // A draining node closes soon: operations move to another node now, unacknowledged ones too.
    link.on("draining", () => {
      if (this.primary === link) this.choosePrimary();
    });
    link.on("down", () => {
      if (this.primary === link) this.choosePrimary();
      this.emit("down", link);
    });
    link.on("message", (message) => this.receive(message, link));
    link.on("error", (error) => this.emit("error", error));
    link.start();
  }

  /** Every node of the region gets a link; the SDK learns them from any node. */
  private learnNodes(hello: Hello): void {
    const listed = new Set<string>();
    for (const node of hello.nodes) {
      const url = linkableUrl(node.url);
      if (!url) continue;
      listed.add(url.href);
      // A region has a handful of nodes: a list past the bound is not one to link to all of.
      if (this.links.size < MAX_LINKED_NODES || this.links.has(url.href)) this.addLink(url);
    }
    // A node that left the region (and is not the one we were given) is not re-linked forever.
    for (const [key, link] of this.links) {
      if (!link.isUp && !listed.has(key) && key !== this.options.endpoint.href) {
        this.links.delete(key);
        void link.close();
      }
    }
  }

  private choosePrimary(): void {
    const up = [...this.links.values()].filter((link) => link.isUp);
    this.primary = up.find((link) => !link.draining) ?? up[0];
    const primary = this.primary;
    this.refusedResend.reset();
    this.backoff.acknowledged();
    if (!primary) return;
    if (this.replayPending) {
      this.replayPending = false;
      for (const frame of this.state.outbox.forReplay()) primary.sendFrame(frame);
    } else {
      for (const entry of this.state.outbox.unacknowledged()) primary.sendFrame(entry.frame);
    }
    const now = Date.now();
    for (const entry of this.state.outbox.unacknowledged()) entry.sentAt = now;
    for (const [requestId, request] of this.state.requests) {
      if (request.resend) primary.send(request.build(requestId));
      else this.state.requests.delete(requestId);
    }
  }

  private receive(message: Message, link: NodeLink): void {
    switch (message.type) {
      case MessageType.OpAck: {
        this.state.outbox.acknowledge(message.seq);
        if (link !== this.primary) return;
        this.backoff.acknowledged();
        for (const refused of this.refusedResend.acknowledged()) {
          refused.sentAt = Date.now();
          link.sendFrame(refused.frame);
        }
        return;
      }
      case MessageType.Error: {
        if (message.seq !== undefined) {
          // Refused for now (the node's buffer for its log is full): it goes again when there is room.
          if (message.retriable) {
            if (link === this.primary) this.refusedResend.refused(message.seq);
          } else if (this.state.outbox.refuse(message.seq)) {
            // Refused for good (too large, out of range): it will never be delivered; the app hears why.
            this.emit("error", brokerError(message));
          }
          return;
        }
        const request =
          message.requestId === undefined ? undefined : this.state.requests.get(message.requestId);
        if (request) {
          request.onReply(message);
          this.state.requests.delete(message.requestId!);
        }
        return;
      }
      case MessageType.FetchSocketsResult:
      case MessageType.ServerCountResult:
      case MessageType.ServerSideEmitResult:
      case MessageType.BroadcastAckCount:
      case MessageType.BroadcastAck:
      case MessageType.RestoreSessionResult: {
        const request = this.state.requests.get(message.requestId);
        if (request?.onReply(message)) this.state.requests.delete(message.requestId);
        return;
      }
      default:
        this.emit("message", message, link);
    }
  }

  /**
   * A node that could not accept an operation yet (its log is down, its buffer full) gets it again:
   * every operation older than the backoff's wait, which grows while the primary acknowledges
   * nothing (see ResendBackoff), except what a refusal holds back: while the node refuses, the
   * operation at the resume point alone, every `afterMs`; while acknowledgements pace a drain, only
   * what is before the resume point (see RefusedResend.forPeriodicResend).
   */
  private resendStale(afterMs: number): void {
    const primary = this.primary;
    if (!primary) return;
    const now = Date.now();
    const { resumePoint, staleBelow } = this.refusedResend.forPeriodicResend(now - afterMs);
    if (resumePoint && resumePoint.sentAt <= now - afterMs) {
      resumePoint.sentAt = now;
      primary.sendFrame(resumePoint.frame);
    }
    const stale = now - this.backoff.staleAfterMs;
    let sent = false;
    // In seq order (the outbox keeps them so): past `staleBelow`, nothing more goes.
    for (const entry of this.state.outbox.unacknowledged()) {
      if (entry.seq >= staleBelow) break;
      if (entry.sentAt > stale) continue;
      // Each entry's own time as it goes, not the look's: a long re-send then comes back in parts
      // over the next looks, not whole. A drain paced by acknowledgements (RefusedResend) stalls
      // while the node digests a backlog re-sent whole (bench/kafka-outage.ts 100000 65536: all
      // delivered 27 s after Kafka's restart this way, 43-47 s with one time for the whole re-send).
      entry.sentAt = Date.now();
      primary.sendFrame(entry.frame);
      sent = true;
    }
    if (sent) this.backoff.resent(now);
  }
}

/**
 * A node URL from Hello that the SDK can link to: absolute http or https (a WebSocket to it is
 * ws or wss). A node lists only such URLs; one that lists others (a broken or hostile node:
 * "/path", "mailto:x", "http://[") must not make the app server throw out of the link's handler.
 */
function linkableUrl(text: string): URL | undefined {
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
}
