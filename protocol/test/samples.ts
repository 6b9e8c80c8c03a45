import {
  MessageType,
  NodeId,
  SessionId,
  SocketAction,
  SocketId,
  StreamId,
  type Message,
} from "../src/index.ts";

const s1 = SessionId("s1");
const n1 = NodeId("n1");
const k1 = SocketId("k1");
const k2 = SocketId("k2");

const trace = {
  traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  tracestate: "regio=1",
};
const target = { nsp: "/", rooms: ["red"], except: ["blue"] };
const handshake = {
  headers: { "x-app": "chat" },
  time: "Sun Nov 22 2026 10:00:00 GMT+0000",
  address: "127.0.0.1",
  xdomain: false,
  secure: false,
  issued: 1795341600000,
  url: "/clients/socketio/hubs/chat/?EIO=4&transport=polling",
  query: { EIO: "4", transport: "polling" },
  auth: { token: "t" },
};

/** One sample of every message type: the golden fixtures are these, encoded. */
export const samples: Record<string, Message> = {
  hello: {
    type: MessageType.Hello,
    nodeId: n1,
    region: "eastus",
    nodes: [{ nodeId: n1, url: "http://127.0.0.1:7400", region: "eastus" }],
    limits: { maxOperationBytes: 1_000_000 },
  },
  ready: { type: MessageType.Ready, stream: StreamId("app-1/6f1c"), lastSeq: 41 },
  sessionOpen: {
    type: MessageType.SessionOpen,
    sessionId: s1,
    handshake: {
      url: handshake.url,
      headers: { host: "127.0.0.1" },
      remoteAddress: "127.0.0.1",
      secure: false,
      transport: "polling",
      protocol: 4,
    },
  },
  sessionMessageText: { type: MessageType.SessionMessage, sessionId: s1, data: '2["chat","hi"]', trace },
  sessionMessageBinary: {
    type: MessageType.SessionMessage,
    sessionId: s1,
    data: new Uint8Array([1, 2, 3]),
  },
  sessionMessages: {
    type: MessageType.SessionMessages,
    messages: [s1, '2["chat","hi"]', s1, new Uint8Array([1, 2, 3])],
  },
  sessionClosed: { type: MessageType.SessionClosed, sessionId: s1, reason: "transport close" },
  sessionUpgraded: { type: MessageType.SessionUpgraded, sessionId: s1, transport: "websocket" },
  sessionSend: {
    type: MessageType.SessionSend,
    sessionId: s1,
    data: ['51-["file",{"_placeholder":true,"num":0}]', new Uint8Array([255])],
    flags: 1,
  },
  sessionSendAfter: { type: MessageType.SessionSend, sessionId: s1, data: ['3["ok"]'], flags: 1, after: 12 },
  sessionClose: { type: MessageType.SessionClose, sessionId: s1 },
  join: {
    type: MessageType.Join,
    sessionId: s1,
    nsp: "/",
    sid: k1,
    rooms: ["k1", "red"],
    snapshot: { id: "k1", handshake, rooms: ["k1", "red"], data: { user: "ada" } },
  },
  joinRecoverable: {
    type: MessageType.Join,
    sessionId: s1,
    nsp: "/",
    sid: k1,
    rooms: ["k1"],
    recovery: { pid: "p1", windowMs: 120_000 },
  },
  leave: { type: MessageType.Leave, nsp: "/", sid: k1, rooms: ["red"] },
  leaveAll: { type: MessageType.LeaveAll, nsp: "/", sid: k1 },
  socketData: { type: MessageType.SocketData, nsp: "/", sid: k1, data: { user: "ada", score: 3 } },
  broadcast: { type: MessageType.Broadcast, seq: 1, target, packet: ['2["news","x"]'], flags: 3, trace },
  broadcastWithAck: {
    type: MessageType.BroadcastWithAck,
    seq: 0,
    requestId: 4,
    target,
    packet: ['2281474976710656["vote"]'],
    ackId: 281474976710656,
    flags: 1,
    timeoutMs: 2000,
  },
  socketsJoin: { type: MessageType.SocketsJoin, seq: 2, target, rooms: ["vip"] },
  socketsLeave: { type: MessageType.SocketsLeave, seq: 3, target, rooms: ["vip"] },
  disconnectSockets: {
    type: MessageType.DisconnectSockets,
    seq: 4,
    target: { nsp: "/admin", rooms: [], except: [], local: true },
    close: true,
  },
  serverSideEmit: { type: MessageType.ServerSideEmit, seq: 5, nsp: "/", args: ["hello", { n: 1 }] },
  serverSideEmitWithAck: {
    type: MessageType.ServerSideEmit,
    seq: 0,
    nsp: "/",
    args: ["ping"],
    requestId: 9,
    timeoutMs: 5000,
  },
  fetchSockets: { type: MessageType.FetchSockets, requestId: 5, target },
  serverCount: { type: MessageType.ServerCount, requestId: 6 },
  serverSideEmitResponse: { type: MessageType.ServerSideEmitResponse, requestId: 9, response: "pong" },
  opAck: { type: MessageType.OpAck, seq: 5 },
  fetchSocketsResult: {
    type: MessageType.FetchSocketsResult,
    requestId: 5,
    sockets: [{ id: "k1", handshake, rooms: ["k1"], data: null }],
  },
  serverCountResult: { type: MessageType.ServerCountResult, requestId: 6, count: 2 },
  broadcastAckCount: { type: MessageType.BroadcastAckCount, requestId: 4, clientCount: 3 },
  broadcastAck: { type: MessageType.BroadcastAck, requestId: 4, packet: ["3281474976710656[10]"] },
  serverSideEmitDeliver: { type: MessageType.ServerSideEmitDeliver, nsp: "/", args: ["ping"], requestId: 1 },
  serverSideEmitResult: {
    type: MessageType.ServerSideEmitResult,
    requestId: 9,
    responses: ["pong"],
    complete: true,
  },
  applyToSockets: {
    type: MessageType.ApplyToSockets,
    nsp: "/",
    sids: [k1, k2],
    action: SocketAction.join,
    rooms: ["vip"],
  },
  restoreSession: {
    type: MessageType.RestoreSession,
    requestId: 9,
    sessionId: s1,
    nsp: "/",
    pid: "p1",
    offset: "v1.lq2",
    windowMs: 120_000,
  },
  restoreSessionResult: {
    type: MessageType.RestoreSessionResult,
    requestId: 9,
    socket: { sid: k1, rooms: ["k1", "red"], data: { user: "ada" } },
  },
  restoreSessionNotFound: { type: MessageType.RestoreSessionResult, requestId: 10 },
  draining: { type: MessageType.Draining },
  error: {
    type: MessageType.Error,
    code: "BAD_FRAME",
    message: "frame is not valid MessagePack",
    retriable: false,
  },
  errorForOperation: {
    type: MessageType.Error,
    code: "PAYLOAD_TOO_LARGE",
    message: "operation of 1200000 bytes exceeds 1000000",
    retriable: false,
    seq: 7,
  },
  errorForRequest: {
    type: MessageType.Error,
    code: "TIMEOUT",
    message: "no answer",
    retriable: true,
    requestId: 3,
  },
};
