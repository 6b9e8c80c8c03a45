import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { until } from "../support/events.ts";
import { ACCESS_KEY } from "../support/regio-harness.ts";
import { finished, freePort, occupiedPort, regioArgs, runRegio } from "../support/regio-command.ts";

const VERSION = (
  JSON.parse(readFileSync(new URL("../../broker/package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

/** A refusal: exit 2, nothing on stdout, exactly one line on stderr, returned. */
function oneLineRefusal(run: { code: number | null; stdout: string; stderr: string }): string {
  expect(run.stdout).toBe("");
  expect(run.stderr.endsWith("\n"), run.stderr).toBe(true);
  expect(run.stderr.trimEnd().split("\n"), run.stderr).toHaveLength(1);
  expect(run.code, run.stderr).toBe(2);
  return run.stderr.trimEnd();
}

describe("regio CLI: help and version", () => {
  it("prints help on stdout and exits 0 for regio and every command", async () => {
    const runs = await Promise.all([
      runRegio(["--help"]),
      runRegio(["help"]),
      runRegio(["-h"]),
      runRegio(["broker", "--help"]),
      runRegio(["global", "--help"]),
      runRegio(["kafka", "--help"]),
      runRegio(["help", "kafka"]),
      runRegio(["drain", "--help"]),
    ]);
    const [top, helpWord, short, broker, global, kafka, helpKafka, drain] = runs;
    for (const run of runs) {
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
    }
    expect(top!.stdout).toMatch(/^usage: regio <command>/);
    for (const command of ["broker", "global", "drain", "kafka"])
      expect(top!.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    expect(helpWord!.stdout).toBe(top!.stdout);
    expect(short!.stdout).toBe(top!.stdout);
    expect(broker!.stdout).toMatch(/^usage: regio broker/);
    expect(broker!.stdout).toMatch(/--cors-credentials/);
    expect(global!.stdout).toMatch(/^usage: regio global/);
    expect(kafka!.stdout).toMatch(/^usage: regio kafka/);
    expect(helpKafka!.stdout).toBe(kafka!.stdout);
    expect(drain!.stdout).toMatch(/^usage: regio drain <node URL>/);
  });

  it("prints the version on stdout and exits 0", async () => {
    for (const args of [["--version"], ["-v"], ["broker", "--version"]]) {
      const run = await runRegio(args);
      expect(run).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
    }
  });
});

describe("regio CLI: refusals are one line on stderr, exit 2", () => {
  const key = { REGIO_ACCESS_KEY: ACCESS_KEY };

  it("refuses a missing or unknown command and unknown or malformed flags", async () => {
    const [none, unknown, misspelt, noValue, ambiguous, globalBogus, kafkaBogus] = await Promise.all([
      runRegio([]),
      runRegio(["brocker"]),
      runRegio(["broker", "--prot", "1"], key),
      runRegio(["broker", "--port"], key),
      runRegio(["global", "--region", "a=http://127.0.0.1:1", "--port", "-1"]),
      runRegio(["global", "--bogus"]),
      runRegio(["kafka", "--bogus"]),
    ]);
    expect(oneLineRefusal(none!)).toMatch(/^regio: which command\?/);
    expect(oneLineRefusal(unknown!)).toMatch(/^regio: unknown command 'brocker'/);
    expect(oneLineRefusal(misspelt!)).toBe("regio broker: Unknown option '--prot'");
    expect(oneLineRefusal(noValue!)).toMatch(/^regio broker: .*--port.*missing/);
    expect(oneLineRefusal(ambiguous!)).toMatch(/^regio global: .*--port.*ambiguous/);
    expect(oneLineRefusal(globalBogus!)).toMatch(/^regio global: Unknown option/);
    expect(oneLineRefusal(kafkaBogus!)).toMatch(/^regio kafka: Unknown option/);
  });

  it("refuses ports out of range", async () => {
    const [broker, fromEnv, global, kafka] = await Promise.all([
      runRegio(["broker", "--port", "65536"], key),
      runRegio(["broker"], { ...key, REGIO_PORT: "99999" }),
      runRegio(["global", "--region", "a=http://127.0.0.1:1", "--port=70000"]),
      runRegio(["kafka", "--port", "65536"]),
    ]);
    expect(oneLineRefusal(broker!)).toBe("regio broker: --port must be a port, 0 to 65535, got '65536'");
    expect(oneLineRefusal(fromEnv!)).toMatch(/^regio broker: --port must be a port/);
    expect(oneLineRefusal(global!)).toMatch(/^regio global: --port must be a port/);
    expect(oneLineRefusal(kafka!)).toMatch(/^regio kafka: --port must be a port/);
  });

  it("refuses access keys shorter than 32 bytes, without showing them", async () => {
    const short = "k".repeat(31);
    // 32 bytes of UTF-8 in 16 characters are enough: bytes count (the --port refusal shows it passed).
    const [alone, rotated, bytes] = await Promise.all([
      runRegio(["broker", "--access-key", short]),
      runRegio(["broker"], { REGIO_ACCESS_KEY: `${ACCESS_KEY},x` }),
      runRegio(["broker", "--access-key", "é".repeat(16), "--port", "99999"]),
    ]);
    const refusal = oneLineRefusal(alone!);
    expect(refusal).toMatch(
      /^regio broker: --access-key: the key has 31 bytes; an access key needs at least 32/,
    );
    expect(refusal).not.toContain(short);
    expect(oneLineRefusal(rotated!)).toMatch(/key 2 of 2 has 1 byte;/);
    expect(oneLineRefusal(bytes!)).toMatch(/--port must be a port/);
  });

  it("refuses a port in use, for a broker and for the global endpoint", async () => {
    const held = await occupiedPort();
    try {
      const [broker, global] = await Promise.all([
        runRegio(["broker", `--port=${held.port}`], key),
        runRegio(["global", "--region", "a=http://127.0.0.1:1", `--port=${held.port}`]),
      ]);
      expect(oneLineRefusal(broker!)).toBe(
        `regio broker: port ${held.port} of 127.0.0.1 is in use (--port; 0 takes any free port)`,
      );
      expect(oneLineRefusal(global!)).toMatch(
        new RegExp(`^regio global: port ${held.port} of 127.0.0.1 is in use`),
      );
    } finally {
      await held.close();
    }
  });

  it("refuses a drain without a node URL or with a key that cannot be the nodes'", async () => {
    const [noUrl, notUrl, shortKey, noKey] = await Promise.all([
      runRegio(["drain"], key),
      runRegio(["drain", "node-1"], key),
      runRegio(["drain", "http://127.0.0.1:1", "--access-key", "short"]),
      runRegio(["drain", "http://127.0.0.1:1"], { REGIO_ACCESS_KEY: "" }),
    ]);
    expect(oneLineRefusal(noUrl!)).toBe("regio drain: which node? regio drain <node URL>");
    expect(oneLineRefusal(notUrl!)).toBe("regio drain: 'node-1' is not a URL");
    expect(oneLineRefusal(shortKey!)).toMatch(/^regio drain: --access-key: the key has 5 bytes;/);
    expect(oneLineRefusal(noKey!)).toMatch(/^regio drain: --access-key .* is required/);
  });

  it("refuses --cors-credentials without --cors-origin (any origin with a visitor's cookies)", async () => {
    const [alone, badValue] = await Promise.all([
      runRegio(["broker", "--cors-credentials"], key),
      runRegio(["broker"], { ...key, REGIO_CORS_CREDENTIALS: "yes" }),
    ]);
    expect(oneLineRefusal(alone!)).toMatch(/--cors-credentials needs --cors-origin/);
    expect(oneLineRefusal(badValue!)).toMatch(/must be true or false/);
  });
});

describe("regio broker: its log is JSON, every line of it", () => {
  it("logs Node's warnings and a fatal error as JSON lines (with the stack) and exits 1", async () => {
    // A fault of the process itself, injected through Node's --import: on SIGUSR2, a warning, then
    // an exception nothing catches.
    const fault =
      'data:text/javascript,process.on("SIGUSR2",()=>{process.emitWarning("injected warning");' +
      'setImmediate(()=>{throw new Error("injected fault")})})';
    const child = spawn(process.execPath, regioArgs(["broker", "--port=0"], ["--import", fault]), {
      env: { ...process.env, REGIO_ACCESS_KEY: ACCESS_KEY, REGIO_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const done = finished(child);
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
    try {
      await until(() => out.includes('"msg":"broker listening"'), "the broker listens");
      child.kill("SIGUSR2");
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
    const { code, stdout, stderr } = await done;

    expect(stderr).toBe("");
    expect(code).toBe(1);
    const lines = stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const warning = lines.find((line) => line.msg === "Node.js warning");
    expect(warning).toMatchObject({ level: 40, err: { message: "injected warning" } });
    const last = lines.at(-1)!;
    expect(last).toMatchObject({ level: 60, err: { type: "Error", message: "injected fault" } });
    expect((last.err as { stack: string }).stack).toMatch(/^Error: injected fault\n\s+at /);
    expect(last.node).toBeTypeOf("string");
  });

  it("passes kafkajs's fields (broker, stack, retries) into its log lines", async () => {
    const closed = await freePort();
    const child = spawn(process.execPath, regioArgs(["broker", "--port=0", `--kafka=127.0.0.1:${closed}`]), {
      env: { ...process.env, REGIO_ACCESS_KEY: ACCESS_KEY, REGIO_LOG_LEVEL: "debug" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const done = finished(child);
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const kafkaLines = () =>
      out
        .split("\n")
        .filter((line) => line.includes('"component":"kafka"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    try {
      await until(
        () =>
          kafkaLines().some((l) => l.broker !== undefined) &&
          kafkaLines().some((l) => typeof l.retryCount === "number"),
        "kafkajs logged a connection error and a retry",
      );
    } finally {
      child.kill("SIGTERM");
    }
    const connection = kafkaLines().find((l) => l.broker !== undefined)!;
    expect(connection).toMatchObject({
      level: 20,
      namespace: "Connection",
      kafkaLevel: "ERROR",
      broker: `127.0.0.1:${closed}`,
      msg: expect.stringMatching(/ECONNREFUSED/),
    });
    expect(connection.stack).toMatch(/ECONNREFUSED/);
    const retry = kafkaLines().find((l) => typeof l.retryCount === "number")!;
    expect(retry.retryTime).toBeTypeOf("number");
    const { stdout, stderr } = await done;
    expect(stderr).toBe("");
    for (const line of stdout.trimEnd().split("\n")) expect(() => JSON.parse(line), line).not.toThrow();
  });
});
