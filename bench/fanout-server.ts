/**
 * Child process of bench/fanout.ts: the server side only, so that its CPU time is measured apart from
 * the clients'. Modes: plain socket.io; "regio", a broker node here and its app server in a process
 * of its own (bench/fanout-app.ts), as deployed, their CPU summed; "regio-one-process", the broker
 * and the app server in this process; "ws", the raw `ws` ceiling of bench/raw-ws-server.ts. It
 * prints one JSON line `{url, path, control}` and is driven over HTTP on `control`:
 * POST /go?messages=&size=&perTick= starts the broadcasts; POST /cpu answers the CPU ms used since.
 *
 * With REGIO_BENCH_TRACE=1 both sides trace, as configured by the OTEL_* variables: the broker from
 * them (as `regio broker` does), the app server with an OpenTelemetry SDK of its own.
 */
import { fork } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startBroker, telemetryFromEnv } from "@regio/broker";
import { clientPath } from "@regio/protocol";
import { BENCH_HUB, FANOUT_ACCESS_KEY, startBenchApp, type AppCommand, type AppReply } from "./fanout-app.ts";
import { startRawWsServer } from "./raw-ws-server.ts";

type Mode = "plain" | "regio" | "regio-one-process" | "ws";
const modes: Mode[] = ["plain", "regio", "regio-one-process", "ws"];
const mode = modes.find((m) => m === process.argv[2]) ?? "plain";

/** What a run drives: the broadcasts, and the CPU of every process of the server side. */
interface Side {
  url: string;
  path: string;
  go(messages: number, size: number, perTick: number): Promise<void>;
  /** CPU ms of the server side's processes since the last `go`. */
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

const ownCpu = () => {
  let start = process.cpuUsage();
  return {
    reset: () => (start = process.cpuUsage()),
    ms: () => {
      const used = process.cpuUsage(start);
      return (used.user + used.system) / 1000;
    },
  };
};

async function startSide(): Promise<Side> {
  const cpu = ownCpu();
  if (mode === "ws") {
    const raw = await startRawWsServer();
    return {
      url: raw.url,
      path: raw.path,
      async go(messages, size, perTick) {
        cpu.reset();
        const payload = "x".repeat(size);
        void (async () => {
          for (let sent = 0; sent < messages; sent += perTick) {
            // One tick's broadcasts: framed and concatenated once, one write per socket.
            raw.broadcast("m", payload, Math.min(perTick, messages - sent));
            await new Promise((resolve) => setImmediate(resolve));
          }
        })();
      },
      cpuMs: async () => cpu.ms(),
      close: async () => {},
    };
  }
  if (mode === "plain") {
    const app = await startBenchApp();
    const http = createServer();
    app.io.attach(http);
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    return {
      url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      path: "/socket.io",
      async go(messages, size, perTick) {
        cpu.reset();
        void app.broadcast(messages, size, perTick);
      },
      cpuMs: async () => cpu.ms(),
      close: () => app.close(),
    };
  }
  const telemetry = process.env.REGIO_BENCH_TRACE
    ? await telemetryFromEnv(process.env, { nodeId: "bench-node", region: "local" })
    : undefined;
  const broker = await startBroker({ accessKey: FANOUT_ACCESS_KEY, port: 0, telemetry });
  const path = clientPath(BENCH_HUB);
  if (mode === "regio-one-process") {
    const app = await startBenchApp(broker.url);
    return {
      url: broker.url,
      path,
      async go(messages, size, perTick) {
        cpu.reset();
        void app.broadcast(messages, size, perTick);
      },
      cpuMs: async () => cpu.ms(),
      // The app server unlinks before its broker goes: no re-link attempts on the way out.
      close: async () => {
        await app.close();
        await broker.close();
      },
    };
  }
  const app = await startAppProcess(broker.url);
  return {
    url: broker.url,
    path,
    async go(messages, size, perTick) {
      cpu.reset();
      await app.ask({ type: "go", messages, size, perTick });
    },
    async cpuMs() {
      const reply = await app.ask({ type: "cpu" });
      return cpu.ms() + (reply.type === "cpu" ? reply.cpuMs : 0);
    },
    close: async () => {
      await app.ask({ type: "close" });
      await broker.close();
    },
  };
}

/** bench/fanout-app.ts in a process of its own, linked to `brokerUrl`, asked over IPC. */
async function startAppProcess(brokerUrl: string) {
  const child = fork(new URL("./fanout-app.ts", import.meta.url).pathname, [brokerUrl], {
    execArgv: process.execArgv,
    env: process.env,
  });
  const waiting: Array<(reply: AppReply) => void> = [];
  child.on("message", (reply: AppReply) => waiting.shift()?.(reply));
  let closing = false;
  // An app server that dies mid-run must fail the run, not leave it waiting for deliveries.
  child.once("exit", (code) => {
    if (closing) return;
    console.error(`bench app server exited with ${code}`);
    process.exit(1);
  });
  const next = () => new Promise<AppReply>((resolve) => waiting.push(resolve));
  await next(); // ready
  return {
    ask(command: AppCommand): Promise<AppReply> {
      if (command.type === "close") closing = true;
      const reply = next();
      child.send(command);
      return reply;
    },
  };
}

const side = await startSide();
const control = createServer(async (req, res) => {
  const query = new URL(req.url ?? "/", "http://x").searchParams;
  if (req.url?.startsWith("/go")) {
    await side.go(Number(query.get("messages")), Number(query.get("size")), Number(query.get("perTick")));
    res.end("ok");
  } else if (req.url?.startsWith("/cpu")) {
    res.end(JSON.stringify({ cpuMs: await side.cpuMs() }));
  } else {
    res.statusCode = 404;
    res.end();
  }
});
await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
process.stdout.write(JSON.stringify({ url: side.url, path: side.path, control: controlUrl }) + "\n");
process.once("SIGTERM", () => {
  void side.close().then(
    () => process.exit(0),
    () => process.exit(0),
  );
});
