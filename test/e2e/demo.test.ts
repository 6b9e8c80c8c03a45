import { afterAll, beforeAll, expect, it } from "vitest";
import { startGlobalEndpoint, type BrokerHandle, type GlobalEndpointHandle } from "@regio/broker";
import { clientPath, formatConnectionString } from "@regio/protocol";
import { startChatServer, type ChatServer } from "../../tools/demo/chat-server.ts";
import { ACCESS_KEY, connect, startTestBroker } from "../support/regio-harness.ts";
import { connected, once } from "../support/events.ts";

let broker: BrokerHandle;
let global: GlobalEndpointHandle;
let chat: ChatServer;

beforeAll(async () => {
  broker = await startTestBroker({ cors: { origin: true } });
  // As `npm start` does: the page's clients go through the global endpoint by default.
  global = await startGlobalEndpoint({ regions: [{ name: "local", nodes: [broker.url] }], port: 0 });
  chat = await startChatServer({
    hub: "chat",
    connectionString: formatConnectionString(broker.url, ACCESS_KEY),
    brokerUrls: { global: global.url, local: broker.url },
    port: 0,
  });
});
afterAll(async () => {
  await chat.close();
  await global.close();
  await broker.close();
});

it("serves the page and its config, and chats in a room through the global endpoint", async () => {
  const page = await fetch(chat.pageUrl);
  expect(await page.text()).toContain("<title>Regio chat</title>");
  const config = (await (await fetch(new URL("/config.json", chat.pageUrl))).json()) as {
    path: string;
    brokers: Record<string, string>;
  };
  expect(config.path).toBe("/clients/socketio/hubs/chat");
  expect(Object.values(config.brokers)[0]).toBe(global.url);
  // A browser on the page's origin may poll through the global endpoint: the broker's CORS answer
  // comes back through it.
  const handshake = await fetch(`${global.url}${clientPath("chat")}/?EIO=4&transport=polling`, {
    headers: { origin: "http://127.0.0.1:3000" },
  });
  expect(handshake.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:3000");
  await handshake.text();

  const ada = await connected(connect(global, "/", { auth: { name: "ada" } }));
  const bob = await connected(connect(global, "/", { auth: { name: "bob" } }));
  expect(await ada.emitWithAck("join", "lobby")).toEqual(["ada"]);
  expect((await bob.emitWithAck("join", "lobby")).sort()).toEqual(["ada", "bob"]);
  const heard = once<[{ from: string; text: string }]>(bob, "said");
  ada.emit("say", "hello bob");
  expect((await heard)[0]).toMatchObject({ from: "ada", text: "hello bob" });
  const nameless = connect(global);
  expect((await once<[Error]>(nameless, "connect_error"))[0].message).toBe(
    "pick a name of 1 to 32 characters",
  );
  [ada, bob, nameless].forEach((s) => s.disconnect());
});
