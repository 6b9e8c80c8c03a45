import { createHmac, timingSafeEqual, type Hmac } from "node:crypto";
import type { KafkaMessage } from "./record-codec.ts";

/** Which stream a record belongs to: part of what is signed, so a record cannot change streams. */
export type RecordKind = "events" | "membership" | "nodes";

/** The Kafka header holding a record's HMAC-SHA256 (32 raw bytes). */
export const SIGNATURE_HEADER = "regio-sig";

/** Derivation label: the record key is not the access key itself (tokens use that). */
const KEY_LABEL = "regio-records-v1";
const SIGNATURE_BYTES = 32;

type ReceivedHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined;

/**
 * Signs the records a node writes and verifies the ones it reads, so that write access to a topic
 * is not enough to steer the nodes that read it (forge a node, a socket, a "node left").
 *
 * The MAC covers the record's kind, key, value (or its absence: tombstones are signed too) and
 * every `regio-*` header, each length-prefixed. The key is HMAC-SHA256(accessKey, "regio-records-v1").
 * For rotation, several access keys may be given: the first signs, any of them verifies.
 */
export class RecordSigner {
  private readonly keys: Buffer[];

  constructor(accessKeys: readonly string[]) {
    if (accessKeys.length === 0 || accessKeys.some((key) => key.length === 0)) {
      throw new Error("RecordSigner needs at least one non-empty access key");
    }
    this.keys = accessKeys.map((accessKey) => createHmac("sha256", accessKey).update(KEY_LABEL).digest());
  }

  /** The message with its signature header (any earlier signature header replaced). */
  sign(kind: RecordKind, message: KafkaMessage): KafkaMessage {
    const headers = { ...message.headers };
    delete headers[SIGNATURE_HEADER];
    const signature = mac(this.keys[0]!, kind, message.key, message.value, signedHeaders(headers));
    return { ...message, headers: { ...headers, [SIGNATURE_HEADER]: signature } };
  }

  /** True only for a well-formed record signed with one of the access keys. */
  verify(kind: RecordKind, key: Buffer | null, value: Buffer | null, headers: ReceivedHeaders): boolean {
    if (!key || !headers) return false;
    const signature = headers[SIGNATURE_HEADER];
    if (!Buffer.isBuffer(signature) || signature.length !== SIGNATURE_BYTES) return false;
    const signed = signedHeaders(headers);
    if (!signed) return false;
    return this.keys.some((k) => timingSafeEqual(mac(k, kind, key, value, signed), signature));
  }
}

/** The regio-* headers but the signature, sorted by name; undefined if one is repeated (malformed). */
function signedHeaders(headers: ReceivedHeaders): Array<[string, Buffer]> | undefined {
  const signed: Array<[string, Buffer]> = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!name.startsWith("regio-") || name === SIGNATURE_HEADER || value === undefined) continue;
    if (Array.isArray(value)) return undefined;
    signed.push([name, Buffer.isBuffer(value) ? value : Buffer.from(value)]);
  }
  return signed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function mac(
  key: Buffer,
  kind: RecordKind,
  recordKey: Buffer,
  value: Buffer | null,
  headers: Array<[string, Buffer]> | undefined,
): Buffer {
  const hmac = createHmac("sha256", key);
  field(hmac, Buffer.from(kind));
  field(hmac, recordKey);
  field(hmac, value);
  for (const [name, headerValue] of headers ?? []) {
    field(hmac, Buffer.from(name));
    field(hmac, headerValue);
  }
  return hmac.digest();
}

/** Length-prefixed, so that no two different records feed the MAC the same bytes; null != empty. */
function field(hmac: Hmac, bytes: Buffer | null): void {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes === null ? 0xffffffff : bytes.length);
  hmac.update(length);
  if (bytes) hmac.update(bytes);
}
