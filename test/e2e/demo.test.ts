import { afterAll, beforeAll, expect, it } from "vitest";
import type { BrokerHandle } from "@regio/broker";
import { formatConnectionString } from "@regio/protocol";
import { startChatServer, type ChatServer } from "../../tools/demo/chat-server.ts";
import { ACCESS_KEY, connect, startTestBroker } from "../support/regio-harness.ts";
import { connected, once } from "../support/events.ts";

let broker: BrokerHandle;
let chat: ChatServer;

beforeAll(async () => {
  broker = await startTestBroker({ cors: { origin: true } });
  chat = await startChatServer({
    hub: "chat",
    connectionString: formatConnectionString(broker.url, ACCESS_KEY),
    brokerUrls: { local: broker.url },
    port: 0,
  });
});
afterAll(async () => {
  await chat.close();
  await broker.close();
});

it("serves the page and its config, and chats in a room through the broker", async () => {
  const page = await fetch(chat.pageUrl);
  expect(await page.text()).toContain("<title>Regio chat</title>");
  const config = (await (await fetch(new URL("/config.json", chat.pageUrl))).json()) as { path: string };
  expect(config.path).toBe("/clients/socketio/hubs/chat");

  const ada = await connected(connect(broker, "/", { auth: { name: "ada" } }));
  const bob = await connected(connect(broker, "/", { auth: { name: "bob" } }));
  expect(await ada.emitWithAck("join", "lobby")).toEqual(["ada"]);
  expect((await bob.emitWithAck("join", "lobby")).sort()).toEqual(["ada", "bob"]);
  const heard = once<[{ from: string; text: string }]>(bob, "said");
  ada.emit("say", "hello bob");
  expect((await heard)[0]).toMatchObject({ from: "ada", text: "hello bob" });
  const nameless = connect(broker);
  expect((await once<[Error]>(nameless, "connect_error"))[0].message).toBe(
    "pick a name of 1 to 32 characters",
  );
  [ada, bob, nameless].forEach((s) => s.disconnect());
});
