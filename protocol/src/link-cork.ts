import type { Socket } from "node:net";

/** Corked bytes past which a tick's frames go out at once: a burst is not held back whole. */
export const MAX_CORKED_BYTES = 64 * 1024;

/**
 * A link's frames of one event-loop turn leave in one write: its TCP socket is corked on the first
 * frame and uncorked in the turn's check phase (setImmediate), after every I/O callback of the turn
 * ran, so the frames answering several reads (each client message is a frame to the app server)
 * share one writev instead of one syscall each, and the app server is woken once. Past
 * MAX_CORKED_BYTES the socket is uncorked at once and the rest of the turn writes through. Corked
 * bytes count in the socket's `writableLength` (and so in ws's `bufferedAmount`): the link's bound on
 * unsent bytes holds as before.
 */
export class LinkCork {
  private socket: Socket | undefined;

  /** `beforeUncork`: runs when the turn ends, just before its frames leave (to add the turn's last ones). */
  constructor(private readonly beforeUncork?: () => void) {}

  /**
   * Call before each frame written to `socket`. True when the turn's end is scheduled for it (it
   * runs `beforeUncork` then); false when there is no socket to cork.
   */
  beforeWrite(socket: Socket | undefined): boolean {
    if (!socket) return false;
    if (this.socket === undefined) {
      this.socket = socket;
      socket.cork();
      setImmediate(() => {
        this.beforeUncork?.();
        this.socket = undefined;
        socket.uncork();
      });
    } else if (
      this.socket === socket &&
      socket.writableCorked > 0 &&
      socket.writableLength >= MAX_CORKED_BYTES
    ) {
      socket.uncork();
    }
    return this.socket === socket;
  }

  /**
   * What this turn corked goes now, and the rest of the turn writes through: for a frame whose
   * sender tells someone it was sent (the SDK's Ready, before its `ready` resolves).
   */
  flush(): void {
    if (this.socket && this.socket.writableCorked > 0) this.socket.uncork();
  }
}
