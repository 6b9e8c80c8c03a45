/**
 * Child process of bench/fanout.ts: the server side only (plain socket.io, or a Regio broker plus
 * an app server using it), so that its CPU time is measured apart from the clients'. It prints one
 * JSON line `{url, path, control}` and is driven over HTTP on `control`:
 * POST /go?messages=&size=&perTick= starts the broadcasts; POST /cpu answers the CPU ms used since.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { startBroker } from "@regio/broker";
import { useRegio } from "@regio/sdk";
import { clientPath, formatConnectionString } from "@regio/protocol";

const mode = process.argv[2] === "regio" ? "regio" : "plain";
const io = new Server();
let url: string;
let path: string;
if (mode === "plain") {
  const http = createServer();
  io.attach(http);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  path = "/socket.io";
} else {
  const broker = await startBroker({ accessKey: "bench-access-key-of-at-least-32-bytes", port: 0 });
  const regio = useRegio(io, { hub: "bench", connectionString: formatConnectionString(broker.url, "k") });
  await regio.ready;
  url = broker.url;
  path = clientPath("bench");
}

let start = process.cpuUsage();
const control = createServer(async (req, res) => {
  const query = new URL(req.url ?? "/", "http://x").searchParams;
  if (req.url?.startsWith("/go")) {
    res.end("ok");
    const payload = "x".repeat(Number(query.get("size")));
    const messages = Number(query.get("messages"));
    const perTick = Number(query.get("perTick"));
    start = process.cpuUsage();
    for (let sent = 0; sent < messages;) {
      for (let i = 0; i < perTick && sent < messages; i++, sent++) io.emit("m", payload);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } else if (req.url?.startsWith("/cpu")) {
    const used = process.cpuUsage(start);
    res.end(JSON.stringify({ cpuMs: (used.user + used.system) / 1000 }));
  } else {
    res.statusCode = 404;
    res.end();
  }
});
await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
process.stdout.write(JSON.stringify({ url, path, control: controlUrl }) + "\n");
