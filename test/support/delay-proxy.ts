import { createServer, connect, type AddressInfo, type Socket } from "node:net";

/**
 * A TCP proxy that delays every chunk by `delayMs` in each direction: real added latency (about
 * 2 x delayMs per round trip) in front of a server on 127.0.0.1. Equal delays keep chunks in order.
 */
export async function startDelayProxy(
  target: string,
  delayMs: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const relay = (from: Socket, to: Socket) =>
    from.on("data", (chunk) => setTimeout(() => to.writable && to.write(chunk), delayMs));
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        setTimeout(() => (s === client ? upstream : client).destroy(), delayMs);
      });
    }
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
