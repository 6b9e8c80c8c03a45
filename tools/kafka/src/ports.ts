import { createServer } from "node:net";

/**
 * Asks the OS for a free TCP port on 127.0.0.1. The port is released before Kafka binds it, so another
 * process could grab it in between; that is rare, and startKafka then fails with a clear bind error.
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}
