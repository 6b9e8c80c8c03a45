import { connect } from "node:net";

/**
 * One Kafka Metadata request over a connection of its own, written and read here: readiness needs
 * three fields of one answer, not a client library. (kafkajs, used here before, is not a dependency
 * of this package, and its connections re-arm a timer with a negative delay after every response,
 * which Node 24 reports as a TimeoutNegativeWarning; see docs/adr/0018.)
 *
 * Wire format (https://kafka.apache.org/protocol#The_Messages_Metadata), version 4: it carries the
 * cluster id and the controller, every Kafka from 0.11 to 4.x serves it (Kafka 4.0: versions 0-13),
 * and it predates the "flexible" encodings (version 9), so its fields are fixed-width.
 *
 *   request   size:int32 | api_key:int16 = 3 | api_version:int16 = 4 | correlation_id:int32
 *             | client_id:string | topics:array = [] | allow_auto_topic_creation:int8 = 0
 *   response  size:int32 | correlation_id:int32 | throttle_time_ms:int32
 *             | brokers:[node_id:int32 host:string port:int32 rack:nullable string]
 *             | cluster_id:nullable string | controller_id:int32 | topics:array
 *
 * Integers are big-endian, a string is an int16 length then UTF-8 (-1: null), an array an int32 count.
 */
export interface ClusterMetadata {
  clusterId: string | null;
  /** Live brokers the answering broker knows of. */
  brokerCount: number;
  /** The active controller's node id, or -1 when there is none yet. */
  controllerId: number;
}

const METADATA_API_KEY = 3;
const METADATA_VERSION = 4;
const CORRELATION_ID = 1;
const CLIENT_ID = "regio-kafka-readiness";
/** Far above a Metadata answer with no topics, which is a few dozen bytes per broker. */
const MAX_RESPONSE_BYTES = 1 << 20;

/** Asks the Kafka broker at host:port for its cluster metadata; rejects on any error or after `timeoutMs`. */
export function requestMetadata(host: string, port: number, timeoutMs: number): Promise<ClusterMetadata> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(new Error(`no Metadata answer from ${host}:${port} in ${timeoutMs} ms`)),
    );
    socket.on("error", fail);
    socket.on("close", () => fail(new Error(`${host}:${port} closed the connection before answering`)));
    socket.on("connect", () => socket.write(metadataRequest()));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const size = received.readInt32BE(0);
      if (size < 0 || size > MAX_RESPONSE_BYTES) {
        fail(new Error(`${host}:${port} answered with a ${size}-byte frame: not a Kafka broker`));
        return;
      }
      if (received.length < 4 + size) return;
      try {
        resolve(parseMetadataResponse(received.subarray(4, 4 + size)));
        socket.destroy();
      } catch (error) {
        fail(error as Error);
      }
    });
  });
}

function metadataRequest(): Buffer {
  const clientId = Buffer.from(CLIENT_ID, "utf8");
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
  let at = body.writeInt16BE(METADATA_API_KEY, 0);
  at = body.writeInt16BE(METADATA_VERSION, at);
  at = body.writeInt32BE(CORRELATION_ID, at);
  at = body.writeInt16BE(clientId.length, at);
  at += clientId.copy(body, at);
  at = body.writeInt32BE(0, at); // topics: none (-1 would be all of them)
  body.writeInt8(0, at); // allow_auto_topic_creation: false
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

/** A Metadata answer (the bytes after its size field); throws an Error naming the field that does not fit. */
function parseMetadataResponse(frame: Buffer): ClusterMetadata {
  let at = 0;
  const need = (bytes: number, what: string) => {
    if (at + bytes > frame.length) throw new Error(`Metadata answer cut short in ${what}`);
  };
  const int32 = (what: string) => {
    need(4, what);
    const value = frame.readInt32BE(at);
    at += 4;
    return value;
  };
  const nullableString = (what: string): string | null => {
    need(2, what);
    const length = frame.readInt16BE(at);
    at += 2;
    if (length < 0) return null;
    need(length, what);
    const value = frame.toString("utf8", at, at + length);
    at += length;
    return value;
  };

  const correlationId = int32("correlation_id");
  if (correlationId !== CORRELATION_ID) {
    throw new Error(`Metadata answer for correlation id ${correlationId}, not ${CORRELATION_ID}`);
  }
  int32("throttle_time_ms");
  const brokerCount = int32("brokers");
  if (brokerCount < 0) throw new Error(`Metadata answer with ${brokerCount} brokers`);
  for (let i = 0; i < brokerCount; i++) {
    int32("node_id");
    nullableString("host");
    int32("port");
    nullableString("rack");
  }
  const clusterId = nullableString("cluster_id");
  const controllerId = int32("controller_id");
  return { clusterId, brokerCount, controllerId };
}
