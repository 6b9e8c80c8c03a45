/**
 * Every error code Regio puts on the wire or throws from its public API. docs/protocol.md lists them
 * too; a code is never reused for another meaning.
 */
export const ErrorCode = {
  /** A frame could not be decoded or does not match its message schema. */
  BadFrame: "BAD_FRAME",
  /** A message type this peer does not accept in this direction. */
  UnexpectedMessage: "UNEXPECTED_MESSAGE",
  /** The app-link token is missing. */
  TokenMissing: "TOKEN_MISSING",
  /** The app-link token's signature does not match the access key. */
  TokenInvalid: "TOKEN_INVALID",
  /** The app-link token has expired (or is not valid yet). */
  TokenExpired: "TOKEN_EXPIRED",
  /** The hub name is not a valid hub name. */
  BadHub: "BAD_HUB",
  /** The connection string lacks a field or has a malformed one. */
  BadConnectionString: "BAD_CONNECTION_STRING",
  /** No app server is linked for the hub: clients cannot be served yet. */
  NoAppServer: "NO_APP_SERVER",
  /** The link to the broker is down; the operation will be re-sent when it is back. */
  LinkDown: "LINK_DOWN",
  /** A request did not get all its answers in time. */
  Timeout: "TIMEOUT",
  /** The broker or SDK is shutting down. */
  Closing: "CLOSING",
  /** An operation, record or handshake is larger than the limit of the hop it would cross. */
  PayloadTooLarge: "PAYLOAD_TOO_LARGE",
  /** The SDK holds as many unacknowledged operations as it may: slow down and try again. */
  BufferFull: "BUFFER_FULL",
  /** An operation's sequence number is outside the range the node accepts for its app server. */
  BadSequence: "BAD_SEQUENCE",
  /** The replication log refused a record for good (not a passing fault). */
  ReplicationFailed: "REPLICATION_FAILED",
  /** The request is not allowed (e.g. a browser Origin that is not allowed). */
  Forbidden: "FORBIDDEN",
  /** A limit of the node is reached (e.g. hubs per node); retry later or elsewhere. */
  LimitExceeded: "LIMIT_EXCEEDED",
  /** A socket.io or engine.io feature the app asked for that Regio cannot honour. */
  Unsupported: "UNSUPPORTED",
  /** Handling one message from a node failed (in the SDK or an app handler); the link goes on. */
  HandlerFailed: "HANDLER_FAILED",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const RETRIABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.TokenExpired,
  ErrorCode.NoAppServer,
  ErrorCode.LinkDown,
  ErrorCode.Timeout,
  ErrorCode.Closing,
  ErrorCode.BufferFull,
  ErrorCode.LimitExceeded,
]);

/** The one error type Regio throws: a code from ErrorCode, whether retrying can help, and a cause. */
export class RegioError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RegioError";
    this.code = code;
    this.retriable = options?.retriable ?? RETRIABLE.has(code);
  }
}
