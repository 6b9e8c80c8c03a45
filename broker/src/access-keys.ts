/**
 * The shortest access key accepted, in bytes: a key is an HMAC-SHA256 key (app-link tokens, records),
 * and one shorter than the hash's 32 bytes is weaker than the hash and guessable when chosen by hand.
 */
export const MIN_ACCESS_KEY_BYTES = 32;

/**
 * Why these access keys may not be used, or undefined when they may. Says which key (by position)
 * and how long it is, never the key itself: it is a secret, and this text goes to logs and terminals.
 */
export function weakAccessKey(keys: readonly string[]): string | undefined {
  for (const [index, key] of keys.entries()) {
    const bytes = Buffer.byteLength(key, "utf8");
    if (bytes < MIN_ACCESS_KEY_BYTES) {
      const which = keys.length > 1 ? `key ${index + 1} of ${keys.length}` : "the key";
      return (
        `${which} has ${bytes} byte${bytes === 1 ? "" : "s"}; an access key needs at least ${MIN_ACCESS_KEY_BYTES}` +
        " (make one with: openssl rand -hex 32)"
      );
    }
  }
  return undefined;
}
