import { EventEmitter } from "node:events";
import type { SessionOpen } from "@regio/protocol";
import { VirtualConnection, type SessionWriter } from "./virtual-connection.ts";

/**
 * Replaces `io.engine` (socket.io's engine.io Server) in the app server: it emits "connection"
 * with a VirtualConnection for every client session a broker node hands to this app server.
 */
export class RegioEngine extends EventEmitter {
  readonly clients = new Map<string, VirtualConnection>();

  constructor(private readonly onClose: () => void) {
    super();
  }

  get clientsCount(): number {
    return this.clients.size;
  }

  open(message: SessionOpen, link: SessionWriter): void {
    const connection = new VirtualConnection(message, link);
    this.clients.set(connection.id, connection);
    connection.once("close", () => this.clients.delete(connection.id));
    this.emit("connection", connection);
  }

  get(sessionId: string): VirtualConnection | undefined {
    return this.clients.get(sessionId);
  }

  /** Every session ends with the link that carried it (all sessions, without `link`). */
  closeAll(reason: string, link?: SessionWriter): void {
    for (const connection of [...this.clients.values()]) {
      if (!link || connection.link === link) connection.onClosed(reason);
    }
  }

  /** socket.io calls this from `io.close()`. */
  close(): this {
    this.closeAll("forced server close");
    this.onClose();
    return this;
  }
}
