import { ConfigError } from "../config.ts";
import type { Command } from "./command.ts";
import { regioVersion } from "./version.ts";

const HELP = new Set(["--help", "-h"]);
const VERSION = new Set(["--version", "-v"]);

/**
 * `regio <command> ...`: help and version on stdout (exit 0), a usage error as one line on stderr
 * (exit 2), else the command, which runs until a signal stops the process.
 */
export async function runCli(argv: string[], commands: readonly Command[]): Promise<void> {
  const [name, ...rest] = argv;
  const names = commands.map((c) => c.name).join(", ");
  if (name !== undefined && HELP.has(name)) return print(usage(commands));
  if (name !== undefined && VERSION.has(name)) return print(regioVersion());
  if (name === "help") {
    if (rest[0] === undefined) return print(usage(commands));
    const command = commands.find((c) => c.name === rest[0]);
    return command ? print(command.usage) : usageError("regio", `no command '${rest[0]}' (${names})`);
  }
  if (name === undefined) return usageError("regio", `which command? ${names} (regio --help)`);
  const command = commands.find((c) => c.name === name);
  if (!command) return usageError("regio", `unknown command '${name}': ${names} (regio --help)`);
  if (rest.some((arg) => HELP.has(arg))) return print(command.usage);
  if (rest.some((arg) => VERSION.has(arg))) return print(regioVersion());
  try {
    await command.run(rest);
  } catch (error) {
    if (error instanceof ConfigError) return usageError(`regio ${command.name}`, error.message);
    throw error;
  }
}

function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    "usage: regio <command> [options]",
    "",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "  regio <command> --help   that command's options (every flag also reads a REGIO_* variable)",
    "  regio --version          the version of regio",
  ].join("\n");
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** One line on stderr, exit 2: what was wrong with the command line or the environment. */
function usageError(who: string, message: string): never {
  process.stderr.write(`${who}: ${message}\n`);
  process.exit(2);
}
