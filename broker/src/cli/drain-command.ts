import { DRAIN_PATH, HEALTH_PATH, signLinkToken } from "@regio/protocol";
import { weakAccessKey } from "../access-keys.ts";
import { ConfigError, integer, parseCommandLine } from "../config.ts";
import { DRAIN_AUDIENCE } from "../node/app-link-auth.ts";
import type { Command } from "./command.ts";

const DRAIN_USAGE = `usage: regio drain <node URL> [--access-key KEY] [--timeout-ms MS]   (the key also from REGIO_ACCESS_KEY)
Asks the node to drain: it takes no new sessions, its app servers move their operations, its clients
reconnect elsewhere and recover their sockets; then it stops. Waits until it has.
  --access-key KEY          the nodes' access key (the first of a list signs)  REGIO_ACCESS_KEY
  --timeout-ms MS           how long to wait for the node to stop (60000)
  --help                    this text
  --version                 the version of regio`;

/**
 * `regio drain <node URL>`: asks a node to drain (authenticated with the access key) and waits
 * until it has stopped (it drains, closes and exits); prints `{"drained": URL}` then.
 */
export const drainCommand: Command = {
  name: "drain",
  summary: "takes a node out of service without losing anything, then waits until it stopped",
  usage: DRAIN_USAGE,
  run: runDrain,
};

async function runDrain(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(argv, {
    "access-key": { type: "string" },
    "timeout-ms": { type: "string" },
  });
  const [target, ...extra] = positionals;
  if (!target) throw new ConfigError("which node? regio drain <node URL>");
  if (extra.length > 0) throw new ConfigError(`one node at a time, got also '${extra.join(" ")}'`);
  if (!URL.canParse(target)) throw new ConfigError(`'${target}' is not a URL`);
  const accessKey = ((values["access-key"] as string | undefined) ?? process.env.REGIO_ACCESS_KEY ?? "")
    .split(",")[0]!
    .trim();
  if (!accessKey) throw new ConfigError("--access-key (or REGIO_ACCESS_KEY) is required");
  const weak = weakAccessKey([accessKey]);
  if (weak) throw new ConfigError(`--access-key: ${weak}`);
  const timeoutMs = integer((values["timeout-ms"] as string | undefined) ?? "60000", "timeout-ms");

  const token = signLinkToken(accessKey, { hub: DRAIN_AUDIENCE, sub: "regio-drain", ttlSeconds: 60 });
  const answer = await fetch(new URL(DRAIN_PATH, target), {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  }).catch((error: unknown) => error as Error);
  if (answer instanceof Error) return failed(`cannot reach ${target}: ${answer.message}`);
  const body = await answer.text();
  if (answer.status !== 202) return failed(`${target} refused (HTTP ${answer.status}): ${body}`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const alive = await fetch(new URL(HEALTH_PATH, target), { signal: AbortSignal.timeout(1000) }).then(
      () => true,
      () => false,
    );
    if (!alive) {
      process.stdout.write(`${JSON.stringify({ drained: target })}\n`);
      return;
    }
    // Polls: a node that stopped has no event to wait for.
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  failed(`${target} is still up after ${timeoutMs} ms`);
}

/** The node refused, could not be reached, or did not stop: one line on stderr, exit 1. */
function failed(message: string): never {
  process.stderr.write(`regio drain: ${message}\n`);
  process.exit(1);
}
