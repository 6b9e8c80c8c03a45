import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LinkCork, MAX_CORKED_BYTES } from "@regio/protocol";
import { once } from "../support/events.ts";

/**
 * Both ends of an app link hold a turn's frames and write them together (the broker's AppLink, the
 * SDK's NodeLink): on a real TCP socket, nothing written in the turn leaves before it ends, a burst
 * past the limit is not held back, and every byte arrives, in order.
 */
describe("LinkCork (used by both)", () => {
  let server: Server;
  let writer: Socket;
  let reader: Socket;

  beforeEach(async () => {
    server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const accepted = once<[Socket]>(server, "connection");
    const address = server.address() as { port: number };
    writer = connect(address.port, "127.0.0.1");
    await once(writer, "connect");
    [reader] = await accepted;
  });
  afterEach(async () => {
    writer.destroy();
    reader.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Everything the reader receives until `bytes` have arrived, as one string. */
  function receive(bytes: number): Promise<string> {
    let got = "";
    return new Promise((resolve) => {
      reader.on("data", (chunk: Buffer) => {
        got += chunk.toString();
        if (got.length >= bytes) resolve(got);
      });
    });
  }

  it("holds a turn's frames until the turn ends, then sends them all, in order", async () => {
    const cork = new LinkCork();
    const frames = Array.from({ length: 20 }, (_, i) => `frame-${String(i).padStart(3, "0")};`);
    const arrived = receive(frames.join("").length);
    for (const frame of frames) {
      cork.beforeWrite(writer);
      writer.write(frame);
    }
    // Still held: nothing was handed to the kernel during the turn.
    expect(writer.writableCorked).toBe(1);
    expect(writer.writableLength).toBe(frames.join("").length);
    expect(await arrived).toBe(frames.join(""));
    expect(writer.writableCorked).toBe(0);
    // The next turn corks again.
    cork.beforeWrite(writer);
    expect(writer.writableCorked).toBe(1);
  });

  it("sends what the turn corked at once when flushed, and writes the rest of the turn through", async () => {
    const cork = new LinkCork();
    const arrived = receive("ready;then;".length);
    cork.beforeWrite(writer);
    writer.write("ready;");
    cork.flush();
    expect(writer.writableCorked).toBe(0);
    cork.beforeWrite(writer);
    writer.write("then;");
    expect(writer.writableCorked).toBe(0);
    expect(await arrived).toBe("ready;then;");
  });

  it("lets a burst past the limit go at once instead of holding it whole", async () => {
    const cork = new LinkCork();
    const frame = "y".repeat(1024);
    const count = Math.ceil((2 * MAX_CORKED_BYTES) / frame.length);
    const arrived = receive(count * frame.length);
    let uncorkedAfter: number | undefined;
    for (let i = 0; i < count; i++) {
      cork.beforeWrite(writer);
      writer.write(frame);
      if (uncorkedAfter === undefined && writer.writableCorked === 0) uncorkedAfter = i;
    }
    // Uncorked once the limit was reached, within the turn; the rest wrote through.
    expect(uncorkedAfter).toBe(MAX_CORKED_BYTES / frame.length);
    expect(writer.writableCorked).toBe(0);
    expect(await arrived).toBe(frame.repeat(count));
  });

  it("runs beforeUncork when the turn ends, before its frames leave: what it writes joins them", async () => {
    const cork = new LinkCork(() => {
      // Still corked: the turn's frames have not left.
      expect(writer.writableCorked).toBe(1);
      expect(cork.beforeWrite(writer)).toBe(true);
      writer.write("last;");
    });
    const arrived = receive("first;last;".length);
    expect(cork.beforeWrite(writer)).toBe(true);
    writer.write("first;");
    expect(await arrived).toBe("first;last;");
    expect(cork.beforeWrite(undefined)).toBe(false);
  });
});
