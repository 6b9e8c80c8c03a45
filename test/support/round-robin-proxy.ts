import { createServer, request } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";

/**
 * A load balancer without sticky sessions: every HTTP request and every WebSocket upgrade goes to
 * the next target in turn. Put in front of several broker nodes, it makes consecutive polling
 * requests of one session land on different nodes.
 */
export async function startRoundRobinProxy(
  targets: string[],
): Promise<{ url: string; close(): Promise<void> }> {
  let next = 0;
  const pick = () => new URL(targets[next++ % targets.length]!);
  const server = createServer((req, res) => {
    const target = pick();
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: false,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("upgrade", (req, socket, head) => {
    const target = pick();
    const upstream = connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(lines.join("\r\n") + "\r\n\r\n");
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
