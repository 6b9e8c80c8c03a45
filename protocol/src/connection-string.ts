import { ErrorCode, RegioError } from "./errors.ts";

/** `Endpoint=http://127.0.0.1:7400;AccessKey=<key>;Version=1.0;` parsed and checked. */
export interface ConnectionString {
  endpoint: URL;
  accessKey: string;
  version: string;
}

const SUPPORTED_VERSIONS = new Set(["1.0"]);

/** Throws RegioError(BAD_CONNECTION_STRING) naming the field that is missing or malformed. */
export function parseConnectionString(text: string): ConnectionString {
  const fields = new Map<string, string>();
  for (const part of text.split(";")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) throw bad(`'${part.trim()}' is not a Key=Value pair`, "format");
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const endpointText = fields.get("endpoint");
  if (!endpointText) throw bad("field Endpoint is missing", "Endpoint");
  let endpoint: URL;
  try {
    endpoint = new URL(endpointText);
  } catch (cause) {
    throw bad(`field Endpoint '${endpointText}' is not a URL`, "Endpoint", cause);
  }
  if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") {
    throw bad(`field Endpoint must be an http or https URL, got '${endpoint.protocol}'`, "Endpoint");
  }
  const accessKey = fields.get("accesskey");
  if (!accessKey) throw bad("field AccessKey is missing or empty", "AccessKey");
  const version = fields.get("version") ?? "1.0";
  if (!SUPPORTED_VERSIONS.has(version))
    throw bad(`field Version '${version}' is not supported (1.0)`, "Version");
  return { endpoint, accessKey, version };
}

export function formatConnectionString(endpoint: string, accessKey: string): string {
  return `Endpoint=${endpoint};AccessKey=${accessKey};Version=1.0;`;
}

/** The connection-string error also says which field is wrong, for programs that branch on it. */
export class ConnectionStringError extends RegioError {
  readonly field: string;
  constructor(message: string, field: string, cause?: unknown) {
    super(ErrorCode.BadConnectionString, `invalid connection string: ${message}`, { cause });
    this.name = "ConnectionStringError";
    this.field = field;
  }
}

function bad(message: string, field: string, cause?: unknown): ConnectionStringError {
  return new ConnectionStringError(message, field, cause);
}
