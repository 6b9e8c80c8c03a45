import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { io as connectClient } from "socket.io-client";
import { clientPath, formatConnectionString } from "@regio/protocol";
import { connected } from "../support/events.ts";

/**
 * What a user installs, used as a user would: every published package packed (`npm pack`, which
 * builds it), the tarballs installed into projects outside the repository (their dependencies from
 * the npm registry, through npm's cache), then `npx regio broker`, an app server in plain ESM and
 * one in CommonJS, real clients, and TypeScript consumers checked against the shipped .d.ts.
 */

const REPO = new URL("../..", import.meta.url).pathname;
const PACKAGES = ["protocol", "sdk", "broker", "tools/kafka"] as const;
const ACCESS_KEY = randomBytes(32).toString("hex");

/** The repository's own versions of what the projects install besides Regio: npm's cache has them. */
const versionOf = (name: string): string =>
  (JSON.parse(readFileSync(join(REPO, "node_modules", name, "package.json"), "utf8")) as { version: string })
    .version;

interface Packed {
  name: string;
  filename: string;
  files: Array<{ path: string }>;
}

/** The environment of a user's shell: none of npm's script variables, of vitest's, nor ours. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(npm_|NODE_OPTIONS$|VITEST|REGIO_)/i.test(name)),
  );
  return { ...env, ...extra };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; rejects with its output if it fails (unless `allowFailure`). */
async function run(command: string, args: string[], cwd: string, allowFailure = false): Promise<Run> {
  const child = spawn(command, args, { cwd, env: userEnv(), stdio: ["ignore", "pipe", "pipe"] });
  const result = await outputOf(child);
  if (result.code !== 0 && !allowFailure) {
    throw new Error(
      `${command} ${args.join(" ")} exited with ${result.code}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

async function outputOf(child: ChildProcess): Promise<Run> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  return { code, stdout, stderr };
}

/** A long-running process of the user's; resolves once `ready` matches its stdout, rejects if it exits. */
async function serve(
  command: string,
  args: string[],
  cwd: string,
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; match: RegExpExecArray; stderr(): string }> {
  // A process group of its own: `npx` runs the command under a shell of its own, and killing npx
  // alone would leave that shell and the broker running (stopGroup ends them all).
  const child = spawn(command, args, {
    cwd,
    env: userEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  running.push(child);
  let out = "";
  let err = "";
  child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`${args.join(" ")} exited with ${code}: ${out}${err}`));
    child.once("exit", onExit);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const found = ready.exec(out);
      if (found) {
        child.off("exit", onExit);
        resolve(found);
      }
    });
  });
  return { child, match, stderr: () => err };
}

/**
 * SIGKILLs a process started by `serve` and everything in its process group (npx's shell and the
 * command under it, which outlive npx otherwise), and waits until the process itself is gone.
 */
async function stopGroup(child: ChildProcess): Promise<void> {
  const exited =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise((resolve) => child.once("exit", resolve));
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // The group is gone already.
  }
  await exited;
}

const running: ChildProcess[] = [];
let scratch: string;
let packed: Packed[];
/** A project with only the broker (and its dependencies): where an operator runs `npx regio`. */
let serverDir: string;
/** An app's project: the SDK, socket.io, TypeScript. */
let appDir: string;
let brokerUrl: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "regio-packages-"));
  expect(relative(REPO, scratch).startsWith("..")).toBe(true);
  const tarballs = join(scratch, "tarballs");
  mkdirSync(tarballs);
  const pack = await run(
    "npm",
    ["pack", "--json", "--pack-destination", tarballs, ...PACKAGES.flatMap((p) => ["--workspace", p])],
    REPO,
  );
  packed = JSON.parse(pack.stdout) as Packed[];
  const tarball = (name: string) => join(tarballs, packed.find((p) => p.name === name)!.filename);

  serverDir = join(scratch, "server");
  appDir = join(scratch, "app");
  for (const [dir, name] of [
    [serverDir, "regio-operator"],
    [appDir, "regio-app"],
  ] as const) {
    mkdirSync(dir);
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true }));
  }
  const install = ["install", "--no-audit", "--no-fund", "--prefer-offline"];
  await Promise.all([
    run("npm", [...install, tarball("@regio/broker"), tarball("@regio/protocol")], serverDir),
    run(
      "npm",
      [
        ...install,
        tarball("@regio/sdk"),
        tarball("@regio/protocol"),
        `socket.io@${versionOf("socket.io")}`,
        `typescript@${versionOf("typescript")}`,
        `@types/node@${versionOf("@types/node")}`,
      ],
      appDir,
    ),
  ]);

  const broker = await serve(
    "npx",
    ["regio", "broker", "--port=0", `--access-key=${ACCESS_KEY}`],
    serverDir,
    /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"broker listening"/,
  );
  brokerUrl = broker.match[1]!;
}, 240_000);

afterAll(async () => {
  await Promise.all(running.map(stopGroup));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("the packed packages", () => {
  it("hold compiled JavaScript, declarations, a README and the license; no sources, tests, demo or Dockerfile", () => {
    expect(packed.map((p) => p.name).sort()).toEqual([
      "@regio/broker",
      "@regio/dev-kafka",
      "@regio/protocol",
      "@regio/sdk",
    ]);
    const license = readFileSync(join(REPO, "LICENSE"), "utf8");
    for (const [i, pkg] of packed.entries()) {
      const paths = pkg.files.map((f) => f.path);
      expect(paths, pkg.name).toEqual(expect.arrayContaining(["package.json", "README.md", "LICENSE"]));
      expect(paths, pkg.name).toEqual(expect.arrayContaining(["dist/index.js", "dist/index.d.ts"]));
      const unexpected = paths.filter(
        (path) =>
          !/^(package\.json|README\.md|LICENSE|dist\/.+\.(js|d\.ts)|bin\/regio\.mjs)$/.test(path) ||
          /(^|\/)(src|test|demo)\//.test(path) ||
          /\.test\.|Dockerfile|tsbuildinfo/.test(path),
      );
      expect(unexpected, pkg.name).toEqual([]);
      expect(readFileSync(join(REPO, PACKAGES[i]!, "LICENSE"), "utf8"), pkg.name).toBe(license);
    }
    expect(packed.find((p) => p.name === "@regio/broker")!.files.map((f) => f.path)).toContain(
      "bin/regio.mjs",
    );
  });

  it("import nothing their manifests do not declare (a package that works only when hoisted beside another fails under pnpm or alone)", () => {
    const builtins = new Set(builtinModules);
    for (const [i, pkg] of packed.entries()) {
      const manifest = JSON.parse(readFileSync(join(REPO, PACKAGES[i]!, "package.json"), "utf8")) as {
        dependencies?: Record<string, string>;
        peerDependencies?: Record<string, string>;
      };
      const declared = new Set([
        pkg.name,
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
      ]);
      const undeclared = pkg.files
        .filter((f) => /\.(js|mjs|d\.ts)$/.test(f.path))
        .flatMap((f) => {
          const code = readFileSync(join(REPO, PACKAGES[i]!, f.path), "utf8");
          const specifiers = [
            ...code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm),
            ...code.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
            ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
          ].map((match) => match[1]!);
          return (
            specifiers
              // "#…": the package's own subpath imports (its manifest's "imports").
              .filter((s) => !s.startsWith(".") && !s.startsWith("node:") && !s.startsWith("#"))
              .map((s) => (s.startsWith("@") ? s.split("/").slice(0, 2) : s.split("/").slice(0, 1)).join("/"))
              .filter((name) => !builtins.has(name) && !declared.has(name))
              .map((name) => `${f.path} imports ${name}`)
          );
        });
      expect(undeclared, pkg.name).toEqual([]);
    }
  });

  it("are public, licensed, described, and say which Node.js they need", () => {
    for (const dir of PACKAGES) {
      const manifest = JSON.parse(readFileSync(join(REPO, dir, "package.json"), "utf8")) as Record<
        string,
        unknown
      >;
      expect(manifest.private, dir).toBeUndefined();
      expect(manifest.license, dir).toBe("MIT");
      expect(manifest.description, dir).toEqual(expect.any(String));
      expect(manifest.repository, dir).toMatchObject({ type: "git", directory: dir });
      expect(manifest.engines, dir).toEqual({ node: ">=20.19" });
    }
    const sdk = JSON.parse(readFileSync(join(REPO, "sdk", "package.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(sdk.peerDependencies).toMatchObject({ "socket.io": expect.any(String) });
    expect(sdk.dependencies).not.toHaveProperty("socket.io");
  });
});

describe("installed from the tarballs, outside the repository", () => {
  it("runs `npx regio` from the compiled JavaScript, with @regio/broker alone", async () => {
    // Nothing of development came along: no SDK, no development Kafka, no TypeScript, no tsx.
    expect(readdirSync(join(serverDir, "node_modules", "@regio")).sort()).toEqual(["broker", "protocol"]);
    for (const name of ["tsx", "typescript", "socket.io", "esbuild"]) {
      expect(existsSync(join(serverDir, "node_modules", name)), name).toBe(false);
    }
    const bin = join(serverDir, "node_modules", ".bin", "regio");
    const [version, help, kafka] = await Promise.all([
      run("npx", ["regio", "--version"], serverDir),
      run(bin, ["broker", "--help"], serverDir),
      run(bin, ["kafka"], serverDir, true),
    ]);
    expect(version.stdout).toBe(`${versionOf("@regio/broker")}\n`);
    expect(help.stdout).toMatch(/^usage: regio broker/);
    // The development Kafka is a package of its own, which this project does not have.
    expect(kafka).toMatchObject({ code: 2, stdout: "" });
    expect(kafka.stderr).toMatch(
      /^regio kafka: needs the development Kafka package: npm install --save-dev @regio\/dev-kafka\n$/,
    );
  });

  it("serves a client through an app server written in plain ESM (import)", async () => {
    writeFileSync(
      join(appDir, "app.mjs"),
      appServer("esm", 'import { Server } from "socket.io";\nimport { useRegio } from "@regio/sdk";'),
    );
    const app = await serve("node", ["app.mjs"], appDir, /^ready\n/m, {
      REGIO_CONNECTION_STRING: formatConnectionString(brokerUrl, ACCESS_KEY),
    });
    await expectServed("esm", "esm", { transports: ["websocket"] });
    expect(app.stderr()).toBe("");
  });

  it("serves a client through an app server written in CommonJS (require)", async () => {
    writeFileSync(
      join(appDir, "app.cjs"),
      appServer(
        "cjs",
        'const { Server } = require("socket.io");\nconst { useRegio } = require("@regio/sdk");',
      ),
    );
    const app = await serve("node", ["app.cjs"], appDir, /^ready\n/m, {
      REGIO_CONNECTION_STRING: formatConnectionString(brokerUrl, ACCESS_KEY),
    });
    await expectServed("cjs", "cjs", {});
    // No warning either: require() of the ES module SDK is plain Node.js from 20.19 on.
    expect(app.stderr()).toBe("");
  });

  it("type-checks a TypeScript app against the shipped declarations (skipLibCheck false): ESM, and CommonJS two ways", async () => {
    mkdirSync(join(appDir, "esm"));
    mkdirSync(join(appDir, "cjs"));
    writeFileSync(join(appDir, "esm", "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(join(appDir, "cjs", "package.json"), JSON.stringify({ type: "commonjs" }));
    writeFileSync(join(appDir, "esm", "app.ts"), TYPESCRIPT_APP);
    writeFileSync(join(appDir, "cjs", "app.ts"), TYPESCRIPT_APP);
    const strict = { strict: true, noEmit: true, skipLibCheck: false, types: ["node"] };
    // nodenext: each file's format from its package.json (esm/: ESM; cjs/: CommonJS, require of ESM).
    const configs = {
      "tsconfig.nodenext.json": {
        compilerOptions: { ...strict, module: "nodenext" },
        files: ["esm/app.ts", "cjs/app.ts"],
      },
      "tsconfig.node10.json": {
        compilerOptions: { ...strict, module: "commonjs", moduleResolution: "node10", esModuleInterop: true },
        files: ["cjs/app.ts"],
      },
    };
    for (const [name, config] of Object.entries(configs))
      writeFileSync(join(appDir, name), JSON.stringify(config));
    const results = await Promise.all(
      Object.keys(configs).map((name) =>
        run(
          process.execPath,
          [join(appDir, "node_modules", "typescript", "bin", "tsc"), "-p", name],
          appDir,
          true,
        ),
      ),
    );
    for (const [i, result] of results.entries()) {
      expect(result.stdout + result.stderr, Object.keys(configs)[i]).toBe("");
      expect(result.code, Object.keys(configs)[i]).toBe(0);
    }
  });
});

/** An app server in plain JavaScript: hub `hub`, answers `hello` with its flavour; prints "ready". */
function appServer(hub: string, imports: string): string {
  return `${imports}

const io = new Server();
const regio = useRegio(io, { hub: ${JSON.stringify(hub)}, connectionString: process.env.REGIO_CONNECTION_STRING });
io.on("connection", (socket) => socket.on("hello", (name, ack) => ack("hi " + name + " from ${hub}")));
regio.ready.then(() => console.log("ready"));
`;
}

/** A real client on `hub`'s path: its `hello` is answered by the app server of that flavour. */
async function expectServed(hub: string, flavour: string, options: { transports?: string[] }): Promise<void> {
  const client = connectClient(brokerUrl, {
    path: clientPath(hub),
    forceNew: true,
    reconnection: false,
    ...options,
  });
  try {
    await connected(client);
    expect(await client.timeout(5000).emitWithAck("hello", "ada")).toBe(`hi ada from ${flavour}`);
  } finally {
    client.disconnect();
  }
}

/** A small TypeScript app server; the last call must not type-check, proving the types are real. */
const TYPESCRIPT_APP = `import { Server, type Socket } from "socket.io";
import { ErrorCode, RegioError, useRegio, type RegioHandle, type RegioOptions } from "@regio/sdk";

const io = new Server();
const options: RegioOptions = { hub: "chat", connectionString: process.env.REGIO_CONNECTION_STRING ?? "" };
const regio: RegioHandle = useRegio(io, options);
regio.onError((error: RegioError) => {
  if (error.code === ErrorCode.TokenInvalid && !error.retriable) console.error(error.message);
});
io.on("connection", (socket: Socket) => {
  socket.on("hello", (name: string, ack: (reply: string) => void) => ack("hi " + name));
});
export const ready: Promise<unknown> = regio.ready.then(() => regio.close());
// @ts-expect-error: a hub is a string
useRegio(io, { hub: 42 });
`;
