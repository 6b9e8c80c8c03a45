/**
 * Where the fan-out benchmark's spans go: an OTLP/HTTP receiver on 127.0.0.1 that reads and
 * discards what it is sent (counting requests and bytes), in the benchmark's own process, so that
 * the server process pays for making and exporting spans and nothing else.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface TraceSink {
  url: string;
  stats: { requests: number; bytes: number };
  close(): Promise<void>;
}

export async function startTraceSink(): Promise<TraceSink> {
  const stats = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    req.on("data", (chunk: Buffer) => (stats.bytes += chunk.length));
    req.on("end", () => {
      stats.requests++;
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
