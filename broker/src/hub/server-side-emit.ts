import { MessageType } from "@regio/protocol";
import type { AppLink } from "./app-link.ts";

interface Pending {
  origin: AppLink;
  originRequestId: number;
  waiting: Set<string>;
  responses: unknown[];
  timer: NodeJS.Timeout;
}

/**
 * `serverSideEmit` with acknowledgement: the broker asks every other app server of the hub and
 * answers the emitter once, with all responses. Each request carries its own id, the set of links
 * still to answer, and a timeout; it settles early when a link that owes an answer goes away.
 */
export class ServerSideEmitRequests {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly links: ReadonlyMap<string, AppLink>) {}

  start(
    origin: AppLink,
    originRequestId: number,
    targets: AppLink[],
    timeoutMs: number,
    deliver: (link: AppLink, requestId: number) => void,
  ): void {
    const id = this.nextId++;
    const timer = setTimeout(() => this.settle(id, false), timeoutMs);
    timer.unref();
    const waiting = new Set(targets.map((link) => link.id));
    this.pending.set(id, { origin, originRequestId, waiting, responses: [], timer });
    for (const link of targets) deliver(link, id);
    this.checkDone(id);
  }

  respond(linkId: string, requestId: number, response: unknown): void {
    const request = this.pending.get(requestId);
    if (!request || !request.waiting.delete(linkId)) return;
    request.responses.push(response);
    this.checkDone(requestId);
  }

  linkGone(linkId: string): void {
    for (const [id, request] of this.pending) {
      if (request.waiting.delete(linkId)) this.checkDone(id);
    }
  }

  private checkDone(id: number): void {
    const request = this.pending.get(id);
    if (request && request.waiting.size === 0) this.settle(id, true);
  }

  private settle(id: number, complete: boolean): void {
    const request = this.pending.get(id);
    if (!request) return;
    this.pending.delete(id);
    clearTimeout(request.timer);
    if (!this.links.has(request.origin.id)) return;
    request.origin.send({
      type: MessageType.ServerSideEmitResult,
      requestId: request.originRequestId,
      responses: request.responses,
      complete,
    });
  }
}
