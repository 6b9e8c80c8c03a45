/**
 * A server that could not listen, said in one line for the operator, or undefined for any other
 * error. These are the failures a flag fixes (`--port`, `--host`), so the CLI treats them as such.
 */
export function listenFailure(error: unknown, host: string, port: number): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  switch (code) {
    case "EADDRINUSE":
      return `port ${port} of ${host} is in use (--port; 0 takes any free port)`;
    case "EACCES":
      return `no permission to listen on port ${port} of ${host} (ports below 1024 need privileges; --port)`;
    case "EADDRNOTAVAIL":
      return `${host} is not an address of this machine (--host)`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `host name '${host}' cannot be resolved (--host)`;
    default:
      return undefined;
  }
}
