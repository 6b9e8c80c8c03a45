import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { hookReads } from "../src/internals/node-net.ts";
import { until } from "../../test/support/events.ts";

/**
 * hookReads reaches into Node's net.Socket (the fields of its `onread` option): this notices when
 * a Node upgrade changes what it relies on, and checks that what the hook leaves reaches the
 * socket's Readable as it would have, in order, with back-pressure and the end of the stream.
 */
describe("hookReads on this Node", () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  /** A connected pair: the accepted socket (hooked by the caller) and the client's. */
  async function pair(): Promise<{ accepted: Socket; client: Socket }> {
    const server = createServer();
    servers.push(server);
    const accepted = once(server, "connection") as Promise<[Socket]>;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const client = connect((server.address() as AddressInfo).port, "127.0.0.1");
    sockets.push(client);
    const [socket] = await accepted;
    sockets.push(socket);
    await once(client, "connect");
    return { accepted: socket, client };
  }

  it("hands each read to the hook first, and pushes what it leaves, in order and intact", async () => {
    const { accepted, client } = await pair();
    const hooked: string[] = [];
    const hook = (_socket: Socket, buffer: Buffer, length: number) => {
      const text = buffer.toString("latin1", 0, length);
      if (text !== "X") return false;
      hooked.push(text);
      return true;
    };
    expect(hookReads(accepted, hook)).toBe(true);
    // Hooked once only.
    expect(hookReads(accepted, hook)).toBe(false);
    const data: Buffer[] = [];
    accepted.on("data", (chunk: Buffer) => data.push(chunk));

    // Each written once the previous one was read: one read each.
    client.write("X");
    await until(() => hooked.length === 1, "the hook took the first X");
    client.write("hello");
    await until(() => data.length === 1, "hello was pushed");
    client.write("X");
    await until(() => hooked.length === 2, "the hook took the second X");
    // More than one read's worth (64 KiB): several reads, each copied out.
    const large = Buffer.alloc(300_000);
    for (let i = 0; i < large.length; i++) large[i] = i % 251;
    client.end(large);
    await once(accepted, "end");

    expect(hooked).toEqual(["X", "X"]);
    const received = Buffer.concat(data);
    expect(received.subarray(0, 5).toString()).toBe("hello");
    expect(received.subarray(5).equals(large)).toBe(true);
    // Each chunk is a buffer of its own, not a view of the shared read buffer.
    expect(new Set(data.map((chunk) => chunk.buffer)).size).toBe(data.length);
  });

  it("keeps back-pressure: a paused socket stops reading and gets everything once resumed", async () => {
    const { accepted, client } = await pair();
    expect(hookReads(accepted, () => false)).toBe(true);
    const data: Buffer[] = [];
    accepted.on("data", (chunk: Buffer) => data.push(chunk));
    accepted.pause();
    // More than the kernel's socket buffers hold: the client's writes back up while the server
    // does not read (a hooked socket stops reading when paused, as Node's `onread` sockets do).
    const large = Buffer.alloc(32_000_000, 7);
    client.end(large);
    await until(() => client.writableLength > 0, "the client's writes backed up");
    expect(accepted.readableLength).toBeLessThan(large.length);
    accepted.resume();
    await once(accepted, "end");
    expect(Buffer.concat(data).equals(large)).toBe(true);
  });

  it("does not hook a socket that has bytes waiting in its Readable", async () => {
    const { accepted, client } = await pair();
    accepted.pause();
    client.write("waiting");
    await until(() => accepted.readableLength > 0, "the bytes wait in the Readable");
    expect(hookReads(accepted, () => true)).toBe(false);
  });
});
