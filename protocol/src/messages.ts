import type { NodeId, SessionId, SocketId, StreamId } from "./ids.ts";

/**
 * The app-link protocol: every message an app server (SDK) and a broker node exchange.
 *
 * Numbers are part of the wire format: never reuse or renumber one. docs/protocol.md is the prose
 * spec of this file; the codec (codec.ts) turns each message into a MessagePack array
 * `[type, ...fields]` in the field order given by MESSAGE_FIELDS.
 */

/** An Engine.IO message payload as it travels on the wire: text, or binary. */
export type Payload = string | Uint8Array;

/** W3C trace context carried by every message that causes work downstream. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

/** What the app server's socket.io needs to build `socket.handshake` and `socket.request`. */
export interface Handshake {
  url: string;
  headers: Record<string, string | string[]>;
  remoteAddress: string;
  secure: boolean;
  transport: string;
  /** Engine.IO protocol revision the client speaks (4; 3 for old clients). */
  protocol: number;
}

/** Target of a room operation, as socket.io's BroadcastOptions but with plain arrays. */
export interface Target {
  nsp: string;
  rooms: string[];
  except: string[];
  /** Only the sockets owned by the sending app server (socket.io's `local` flag). */
  local?: boolean;
}

export interface SocketSnapshot {
  id: string;
  handshake: SnapshotHandshake;
  rooms: string[];
  data: unknown;
}

/** socket.handshake as socket.io builds it; `auth` and `query` are what the client sent. */
export interface SnapshotHandshake {
  headers: Record<string, string | string[]>;
  time: string;
  address: string;
  xdomain: boolean;
  secure: boolean;
  issued: number;
  url: string;
  query: Record<string, unknown>;
  auth: Record<string, unknown>;
}

export interface NodeInfo {
  nodeId: NodeId;
  url: string;
  region: string;
}

/** Bit flags of SessionSend and Broadcast. */
/**
 * Bit flags of SessionSend and Broadcast. `recoverable`: an event packet of an app server with
 * connection state recovery on; the node appends its recovery offset to the event's arguments (as
 * socket.io does) and keeps it for sessions that come back.
 */
export const SendFlags = { compress: 1, volatile: 2, recoverable: 4 } as const;

export const MessageType = {
  // link lifecycle: the broker says hello, the SDK says it is ready to serve
  Hello: 1,
  Ready: 2,
  // client sessions (broker -> sdk)
  SessionOpen: 10,
  SessionMessage: 11,
  SessionClosed: 12,
  SessionUpgraded: 13,
  /** Several SessionMessages of one turn in one frame: only on links whose SDK reads them (see LINK_FEATURES_HEADER). */
  SessionMessages: 14,
  // client sessions (sdk -> broker)
  SessionSend: 20,
  SessionClose: 21,
  // membership (sdk -> broker)
  Join: 30,
  Leave: 31,
  LeaveAll: 32,
  SocketData: 33,
  // operations (sdk -> broker); each carries the sender's sequence number
  Broadcast: 40,
  BroadcastWithAck: 41,
  SocketsJoin: 42,
  SocketsLeave: 43,
  DisconnectSockets: 44,
  ServerSideEmit: 45,
  // requests (sdk -> broker) answered by a result
  FetchSockets: 50,
  ServerCount: 51,
  ServerSideEmitResponse: 52,
  RestoreSession: 53,
  // broker -> sdk
  OpAck: 60,
  FetchSocketsResult: 61,
  ServerCountResult: 62,
  BroadcastAckCount: 63,
  BroadcastAck: 64,
  ServerSideEmitDeliver: 65,
  ServerSideEmitResult: 66,
  ApplyToSockets: 67,
  RestoreSessionResult: 68,
  Draining: 69,
  // either direction
  Error: 90,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** What the node accepts on this link; the SDK checks it before it sends, so the app gets the error. */
export interface LinkLimits {
  /** Largest encoded operation (40-45): it must fit one record of the replication log. */
  maxOperationBytes: number;
}

export interface Hello {
  type: typeof MessageType.Hello;
  nodeId: NodeId;
  region: string;
  nodes: NodeInfo[];
  limits?: LinkLimits;
}

/**
 * The SDK is ready to serve client sessions on this link (a link that authenticated but never says
 * so gets none). `stream` names this app server process's operation stream: `seq` numbers are per
 * stream, so an app server restarted under the same id starts a new stream at 1.
 */
export interface Ready {
  type: typeof MessageType.Ready;
  stream: StreamId;
  /** The last seq the stream numbered before this link was up (the node orders sends after it). */
  lastSeq?: number;
}

export interface SessionOpen {
  type: typeof MessageType.SessionOpen;
  sessionId: SessionId;
  handshake: Handshake;
}

export interface SessionMessage {
  type: typeof MessageType.SessionMessage;
  sessionId: SessionId;
  data: Payload;
  trace?: TraceContext;
}

/**
 * Client messages of one event-loop turn in one frame, in the order the node read them: pairs of
 * (session id, data), each pair what a SessionMessage without a trace would carry. Sent only to an
 * SDK that asked for them when it linked (LINK_FEATURES_HEADER); a message with a trace context
 * always goes as a SessionMessage of its own.
 */
export interface SessionMessages {
  type: typeof MessageType.SessionMessages;
  /** `[sessionId, data, sessionId, data, ...]`: at least one pair. */
  messages: (SessionId | Payload)[];
}

export interface SessionClosed {
  type: typeof MessageType.SessionClosed;
  sessionId: SessionId;
  reason: string;
  description?: string;
}

export interface SessionUpgraded {
  type: typeof MessageType.SessionUpgraded;
  sessionId: SessionId;
  transport: string;
}

export interface SessionSend {
  type: typeof MessageType.SessionSend;
  sessionId: SessionId;
  /** One Socket.IO packet: its text part followed by its binary attachments, if any. */
  data: Payload[];
  flags: number;
  trace?: TraceContext;
  /**
   * The last seq the app server numbered before this send: the node writes it to the client only
   * after that operation (and every one before it) reached this node, so a socket's packets keep
   * the order in which the app sent them, broadcasts included.
   */
  after?: number;
}

export interface SessionClose {
  type: typeof MessageType.SessionClose;
  sessionId: SessionId;
}

/** What a socket needs to be recovered after its session was lost (connection state recovery). */
export interface Recovery {
  /** socket.io's private session id, which the client presents to recover. */
  pid: string;
  /** How long after its disconnection the socket may be recovered (maxDisconnectionDuration), ms. */
  windowMs: number;
}

export interface Join {
  type: typeof MessageType.Join;
  sessionId: SessionId;
  nsp: string;
  sid: SocketId;
  rooms: string[];
  snapshot?: SocketSnapshot;
  /** Set on a socket's first Join when its app server has connection state recovery on. */
  recovery?: Recovery;
}

export interface Leave {
  type: typeof MessageType.Leave;
  nsp: string;
  sid: SocketId;
  rooms: string[];
}

export interface LeaveAll {
  type: typeof MessageType.LeaveAll;
  nsp: string;
  sid: SocketId;
}

export interface SocketData {
  type: typeof MessageType.SocketData;
  nsp: string;
  sid: SocketId;
  /** socket.data as other app servers see it; absent when it cannot be carried (see bounds.ts). */
  data?: unknown;
}

export interface Broadcast {
  type: typeof MessageType.Broadcast;
  seq: number;
  target: Target;
  /** The packet, encoded once by the SDK: text part then binary attachments. */
  packet: Payload[];
  flags: number;
  trace?: TraceContext;
}

export interface BroadcastWithAck {
  type: typeof MessageType.BroadcastWithAck;
  seq: number;
  requestId: number;
  target: Target;
  packet: Payload[];
  /** The Socket.IO ack id inside `packet`; the broker routes the clients' acks back by it. */
  ackId: number;
  flags: number;
  timeoutMs: number;
  trace?: TraceContext;
}

export interface SocketsJoin {
  type: typeof MessageType.SocketsJoin;
  seq: number;
  target: Target;
  rooms: string[];
  trace?: TraceContext;
}

export interface SocketsLeave {
  type: typeof MessageType.SocketsLeave;
  seq: number;
  target: Target;
  rooms: string[];
  trace?: TraceContext;
}

export interface DisconnectSockets {
  type: typeof MessageType.DisconnectSockets;
  seq: number;
  target: Target;
  close: boolean;
  trace?: TraceContext;
}

export interface ServerSideEmit {
  type: typeof MessageType.ServerSideEmit;
  seq: number;
  nsp: string;
  /** Set when the emitter waits for acknowledgements. */
  requestId?: number;
  timeoutMs?: number;
  args: unknown[];
  trace?: TraceContext;
}

export interface FetchSockets {
  type: typeof MessageType.FetchSockets;
  requestId: number;
  target: Target;
}

export interface ServerCount {
  type: typeof MessageType.ServerCount;
  requestId: number;
}

export interface ServerSideEmitResponse {
  type: typeof MessageType.ServerSideEmitResponse;
  requestId: number;
  response: unknown;
}

/**
 * A client came back presenting `pid` and the recovery offset of the last event it received (in its
 * CONNECT packet): the node holding its new session restores the socket (id, rooms, data) from the
 * replicated view, writes it every event it missed, in order, and answers RestoreSessionResult.
 */
export interface RestoreSession {
  type: typeof MessageType.RestoreSession;
  requestId: number;
  sessionId: SessionId;
  nsp: string;
  pid: string;
  offset: string;
  windowMs: number;
}

export interface OpAck {
  type: typeof MessageType.OpAck;
  seq: number;
}

export interface FetchSocketsResult {
  type: typeof MessageType.FetchSocketsResult;
  requestId: number;
  sockets: SocketSnapshot[];
}

export interface ServerCountResult {
  type: typeof MessageType.ServerCountResult;
  requestId: number;
  count: number;
}

export interface BroadcastAckCount {
  type: typeof MessageType.BroadcastAckCount;
  requestId: number;
  clientCount: number;
}

export interface BroadcastAck {
  type: typeof MessageType.BroadcastAck;
  requestId: number;
  /** The client's acknowledgement: its packet (text part then attachments), decoded by the SDK. */
  packet: Payload[];
}

export interface ServerSideEmitDeliver {
  type: typeof MessageType.ServerSideEmitDeliver;
  nsp: string;
  requestId?: number;
  args: unknown[];
  trace?: TraceContext;
}

export interface ServerSideEmitResult {
  type: typeof MessageType.ServerSideEmitResult;
  requestId: number;
  responses: unknown[];
  /** false when some app servers did not answer before the timeout. */
  complete: boolean;
}

export const SocketAction = { join: 1, leave: 2, disconnect: 3, disconnectAndClose: 4 } as const;
export type SocketAction = (typeof SocketAction)[keyof typeof SocketAction];

export interface ApplyToSockets {
  type: typeof MessageType.ApplyToSockets;
  nsp: string;
  sids: SocketId[];
  action: SocketAction;
  rooms: string[];
  trace?: TraceContext;
}

export interface RestoreSessionResult {
  type: typeof MessageType.RestoreSessionResult;
  requestId: number;
  /** The recovered socket; absent when it cannot be recovered (unknown, expired, offset too old). */
  socket?: { sid: SocketId; rooms: string[]; data?: unknown };
}

/**
 * The node is draining (shutting down on purpose): it takes no new sessions, and the app server
 * should move its operations to another node now; its sessions here will close and reconnect
 * elsewhere.
 */
export interface Draining {
  type: typeof MessageType.Draining;
}

export interface ErrorMessage {
  type: typeof MessageType.Error;
  code: string;
  message: string;
  retriable: boolean;
  /** The operation the error answers (it was refused: not executed, not acknowledged). */
  seq?: number;
  /** The request the error answers (it will get no other answer). */
  requestId?: number;
}

export type Message =
  | Hello
  | Ready
  | SessionOpen
  | SessionMessage
  | SessionMessages
  | SessionClosed
  | SessionUpgraded
  | SessionSend
  | SessionClose
  | Join
  | Leave
  | LeaveAll
  | SocketData
  | Broadcast
  | BroadcastWithAck
  | SocketsJoin
  | SocketsLeave
  | DisconnectSockets
  | ServerSideEmit
  | FetchSockets
  | ServerCount
  | ServerSideEmitResponse
  | RestoreSession
  | OpAck
  | FetchSocketsResult
  | ServerCountResult
  | BroadcastAckCount
  | BroadcastAck
  | ServerSideEmitDeliver
  | ServerSideEmitResult
  | ApplyToSockets
  | RestoreSessionResult
  | Draining
  | ErrorMessage;

export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

/** Operations: the SDK keeps each until the broker acknowledges its seq (OpAck). */
export type Operation =
  Broadcast | BroadcastWithAck | SocketsJoin | SocketsLeave | DisconnectSockets | ServerSideEmit;
