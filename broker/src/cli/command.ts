/**
 * One command of the `regio` CLI. `run` lasts as long as the command serves (until a signal stops
 * the process); it throws ConfigError for anything the user must fix (a flag, a variable, a port in
 * use), which the CLI prints as one line on stderr before exiting with 2.
 */
export interface Command {
  readonly name: string;
  /** One line for `regio --help`. */
  readonly summary: string;
  /** The whole `regio <name> --help` text. */
  readonly usage: string;
  run(argv: string[]): Promise<void>;
}
