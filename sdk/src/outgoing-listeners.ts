import type { Socket } from "socket.io";

/**
 * Which of an app server's sockets listen to what they are sent (`socket.onAnyOutgoing`,
 * `prependAnyOutgoing`). A broadcast shows those its packet, as plain socket.io does while it writes
 * to each socket; when none listens (the common case) a broadcast need not walk the app server's
 * sockets at all, which at 10,000 sockets costs more than sending the broadcast.
 */
export class OutgoingListeners {
  private readonly listening = new Set<string>();
  private readonly watched = new WeakSet<Socket>();

  get none(): boolean {
    return this.listening.size === 0;
  }

  /** A socket of the namespace is connected: from now on its listeners are known here. */
  watch(socket: Socket): void {
    if (this.watched.has(socket)) return;
    this.watched.add(socket);
    // Middleware may have added listeners before the socket connected.
    if (socket.listenersAnyOutgoing().length > 0) this.listening.add(socket.id);
    const { onAnyOutgoing, prependAnyOutgoing } = socket;
    socket.onAnyOutgoing = (listener) => {
      this.listening.add(socket.id);
      return onAnyOutgoing.call(socket, listener);
    };
    socket.prependAnyOutgoing = (listener) => {
      this.listening.add(socket.id);
      return prependAnyOutgoing.call(socket, listener);
    };
  }

  /** The socket is gone. */
  forget(id: string): void {
    this.listening.delete(id);
  }
}
