import type WebSocket from "ws";

/**
 * Runs `send` with the WebSocket's TCP socket corked, so that the frames it sends leave in one
 * write instead of one system call each (ws keeps the socket as `_socket`; it is untyped).
 */
export function corked(ws: WebSocket, send: () => void): void {
  const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
  socket?.cork();
  try {
    send();
  } finally {
    socket?.uncork();
  }
}
