import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { STATUS_CODES } from "node:http";
import type { RegioError } from "@regio/protocol";

/** Every refusal carries a JSON body `{ code, message }` so that clients and operators see why. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: object,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** Refuses a WebSocket upgrade with a real HTTP status and the reason, then closes the socket. */
export function rejectUpgrade(socket: Socket, status: number, error: RegioError): void {
  replyOnSocket(socket, status, { code: error.code, message: error.message });
}

/** An HTTP answer written on a raw socket (no ServerResponse exists for an upgrade), then closed. */
export function replyOnSocket(socket: Socket, status: number, body: object): void {
  if (socket.writable) {
    const text = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n` +
        "Connection: close\r\n" +
        "Content-Type: application/json\r\n" +
        `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n` +
        text,
    );
  }
  socket.destroy();
}
