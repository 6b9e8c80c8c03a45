import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { BrokerHandle } from "@regio/broker";
import { ConnectionStringError, ErrorCode, parseConnectionString, RegioError, useRegio } from "@regio/sdk";
import {
  clientPath,
  encodeMessage,
  formatConnectionString,
  MessageType,
  StreamId,
  signLinkToken,
} from "@regio/protocol";
import { Server } from "socket.io";
import {
  ACCESS_KEY,
  connect,
  HUB,
  startAppServer,
  startTestBroker,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { connected, once, until } from "../support/events.ts";
import { rawLink } from "../support/raw-link.ts";

describe("bad input gets a clear answer and the node keeps serving everyone else", () => {
  let broker: BrokerHandle;
  let app: AppServer;

  beforeAll(async () => {
    broker = await startTestBroker({ maxHttpBufferSize: 2000, maxClientQueueBytes: 20_000 });
    app = await startAppServer(broker, (io) => {
      io.on("connection", (socket) => socket.on("ping?", (ack: (r: string) => void) => ack("pong")));
    });
  });
  afterAll(async () => {
    await stopAppServer(app);
    await broker.close();
  });

  async function stillServing(): Promise<void> {
    const bystander = await connected(connect(broker));
    expect(await bystander.emitWithAck("ping?")).toBe("pong");
    const id = bystander.id!;
    bystander.disconnect();
    // Gone from the app server before the next test counts its sockets: the disconnection crosses
    // the link, and a test that started meanwhile would count the bystander and then miss it.
    await until(() => !app.io.of("/").sockets.has(id), "the bystander's socket left the app server");
  }

  it("refuses an app link without a token: 401 TOKEN_MISSING", async () => {
    const { status, body } = await rawLink(broker);
    expect(status).toBe(401);
    expect(body.code).toBe(ErrorCode.TokenMissing);
    await stillServing();
  });

  it("refuses a forged token: 401 TOKEN_INVALID", async () => {
    const { status, body } = await rawLink(
      broker,
      signLinkToken("not-the-key", { hub: HUB, sub: "mallory" }),
    );
    expect(status).toBe(401);
    expect(body).toEqual({
      code: ErrorCode.TokenInvalid,
      message: "token signature does not match the access key",
    });
    const garbage = await rawLink(broker, "not.a.jwt-at-all");
    expect(garbage.status).toBe(401);
    expect(garbage.body.code).toBe(ErrorCode.TokenInvalid);
    await stillServing();
  });

  it("refuses an expired token: 401 TOKEN_EXPIRED", async () => {
    const token = signLinkToken(
      ACCESS_KEY,
      { hub: HUB, sub: "late", ttlSeconds: 60 },
      Date.now() - 3_600_000,
    );
    const { status, body } = await rawLink(broker, token);
    expect(status).toBe(401);
    expect(body).toEqual({ code: ErrorCode.TokenExpired, message: "token has expired" });
  });

  it("refuses a token minted for another hub", async () => {
    const { status, body } = await rawLink(broker, signLinkToken(ACCESS_KEY, { hub: "other", sub: "x" }));
    expect(status).toBe(401);
    expect(body.message).toBe("token is for hub 'other', not 'chat'");
  });

  it("tells the SDK why its link is refused, as a typed error", async () => {
    const io = new Server();
    const regio = useRegio(io, {
      hub: HUB,
      connectionString: formatConnectionString(broker.url, "wrong-key"),
    });
    const error = await new Promise<RegioError>((resolve) => regio.onError(resolve));
    expect(error).toBeInstanceOf(RegioError);
    expect(error.code).toBe(ErrorCode.TokenInvalid);
    expect(error.message).toContain("HTTP 401");
    await regio.close();
    await io.close();
  });

  it("answers an undecodable app-link frame with an Error and keeps the link", async () => {
    const link = await rawLink(broker, signLinkToken(ACCESS_KEY, { hub: HUB, sub: "fuzzer" }));
    try {
      await link.next(MessageType.Hello);
      link.ws.send(encodeMessage({ type: MessageType.Ready, stream: StreamId("fuzzer/1") }));
      link.ws.send(Buffer.from([0xc1, 0xff, 0x00]));
      expect(await link.next(MessageType.Error)).toMatchObject({
        code: ErrorCode.BadFrame,
        retriable: false,
      });
      link.ws.send(encodeMessage({ type: MessageType.ServerCount, requestId: 1 }).subarray(0, 1));
      expect(await link.next(MessageType.Error)).toMatchObject({ code: ErrorCode.BadFrame });
      link.ws.send(encodeMessage({ type: MessageType.OpAck, seq: 1 }));
      expect(await link.next(MessageType.Error)).toMatchObject({ code: ErrorCode.UnexpectedMessage });
      link.ws.send(encodeMessage({ type: MessageType.ServerCount, requestId: 7 }));
      expect(await link.next(MessageType.ServerCountResult)).toEqual({
        type: MessageType.ServerCountResult,
        requestId: 7,
        count: 2,
      });
    } finally {
      link.ws.close();
    }
    await stillServing();
  });

  it("rejects a malformed connection string with a typed error naming the field", () => {
    const field = (text: string) => {
      try {
        parseConnectionString(text);
      } catch (error) {
        expect(error).toBeInstanceOf(ConnectionStringError);
        expect((error as ConnectionStringError).code).toBe(ErrorCode.BadConnectionString);
        return (error as ConnectionStringError).field;
      }
      throw new Error(`'${text}' was accepted`);
    };
    expect(field("AccessKey=k;Version=1.0;")).toBe("Endpoint");
    expect(field("Endpoint=not a url;AccessKey=k;")).toBe("Endpoint");
    expect(field("Endpoint=ftp://host;AccessKey=k;")).toBe("Endpoint");
    expect(field("Endpoint=http://127.0.0.1:7400;Version=1.0;")).toBe("AccessKey");
    expect(field("Endpoint=http://127.0.0.1:7400;AccessKey=k;Version=2.0;")).toBe("Version");
    expect(field("Endpoint=http://127.0.0.1:7400;garbage;")).toBe("format");
    expect(() => useRegio(new Server(), { hub: HUB, connectionString: "nonsense" })).toThrow(
      ConnectionStringError,
    );
    expect(() => useRegio(new Server(), { hub: "bad hub!", connectionString: "x" })).toThrow(
      /not a valid hub name/,
    );
  });

  it("answers a client of a hub without app servers with 503 NO_APP_SERVER, and connect_error", async () => {
    const response = await fetch(`${broker.url}${clientPath("empty")}/?EIO=4&transport=polling`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      code: ErrorCode.NoAppServer,
      message: "no app server serves hub 'empty'",
    });
    const client = connect(broker, "/", { path: clientPath("empty") });
    expect((await once<[Error]>(client, "connect_error"))[0].message).toBe("xhr poll error");
    client.disconnect();
  });

  it("answers an invalid hub name with 400 BAD_HUB and an unknown path with 404", async () => {
    const bad = await fetch(`${broker.url}/clients/socketio/hubs/no%20spaces/?EIO=4&transport=polling`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe(ErrorCode.BadHub);
    expect((await fetch(`${broker.url}/nothing-here`)).status).toBe(404);
  });

  it("closes a polling session that posts a malformed Engine.IO payload, and only that one", async () => {
    const base = `${broker.url}${clientPath(HUB)}/?EIO=4&transport=polling`;
    const open = await (await fetch(base)).text();
    const { sid } = JSON.parse(open.slice(1)) as { sid: string };
    // engine.io acknowledges the POST itself ("ok") and closes the session with "parse error".
    const post = await fetch(`${base}&sid=${sid}`, { method: "POST", body: "\u00ffnot-a-packet" });
    expect(await post.text()).toBe("ok");
    const after = await fetch(`${base}&sid=${sid}`);
    expect(after.status).toBe(400);
    expect(await after.json()).toEqual({ code: 1, message: "Session ID unknown" });
    await stillServing();
  });

  it("closes a WebSocket client that sends a malformed Engine.IO frame, and only that one", async () => {
    const client = await connected(connect(broker, "/", { transports: ["websocket"] }));
    const appSocket = app.io.of("/").sockets.get(client.id!)!;
    const serverReason = once<[string]>(appSocket, "disconnect");
    const transport = client.io.engine.transport as unknown as { ws: WebSocket };
    transport.ws.send("\u00ffgarbage");
    expect((await once<[string]>(client, "disconnect"))[0]).toBe("transport close");
    expect((await serverReason)[0]).toBe("parse error");
    await stillServing();
  });

  it("disconnects a client that stops reading once it owes more than the bound, and only that one", async () => {
    const base = `${broker.url}${clientPath(HUB)}/?EIO=4&transport=polling`;
    const { sid } = JSON.parse((await (await fetch(base)).text()).slice(1)) as { sid: string };
    const before = app.io.of("/").sockets.size;
    await fetch(`${base}&sid=${sid}`, { method: "POST", body: "40" }); // connect to "/", then never poll
    await until(() => app.io.of("/").sockets.size === before + 1, "the silent client's socket connected");
    const bystander = await connected(connect(broker, "/", { transports: ["websocket"] }));
    // One at a time: a client that reads drains between them, the silent one only piles up.
    for (let i = 0; i < 6; i++) {
      const got = once(bystander, "big");
      app.io.emit("big", "x".repeat(5000));
      await got;
    }
    await until(() => app.io.of("/").sockets.size === before + 1, "only the silent client was dropped");
    const after = await fetch(`${base}&sid=${sid}`);
    expect(after.status).toBe(400);
    bystander.disconnect();
  });

  it("disconnects a WebSocket client whose TCP socket stops reading, once it owes more than the bound", async () => {
    const before = app.io.of("/").sockets.size;
    const silent = await connected(connect(broker, "/", { transports: ["websocket"], reconnection: false }));
    const bystander = await connected(connect(broker, "/", { transports: ["websocket"] }));
    // Under socket.io-client, its WebSocket's TCP socket stops reading: the kernel's buffers fill,
    // then the node's.
    const engine = silent.io.engine as unknown as { transport: { ws: { _socket: { pause(): void } } } };
    engine.transport.ws._socket.pause();
    // One at a time, each in a tick of its own: the bystander reads them all.
    for (let i = 0; app.io.of("/").sockets.size > before + 1; i++) {
      expect(i, "the silent client is dropped before 50 MB").toBeLessThan(10_000);
      const got = once(bystander, "big");
      app.io.emit("big", "x".repeat(5000));
      await got;
    }
    expect(bystander.connected).toBe(true);
    bystander.disconnect();
    silent.disconnect();
  });

  it("closes a client whose message exceeds maxHttpBufferSize, over WebSocket and polling", async () => {
    for (const transports of [["websocket"], ["polling"]]) {
      const client = await connected(connect(broker, "/", { transports }));
      const gone = once<[string]>(client, "disconnect");
      client.emit("big", "x".repeat(10_000));
      expect(["transport close", "transport error"]).toContain((await gone)[0]);
    }
    await stillServing();
  });
});
