/**
 * A small seeded PRNG (mulberry32) and the draws the fuzz generators need. Every generator gets a
 * PRNG of its own, forked from the run's seed by a label, so that one stream of frames does not
 * shift when another stream draws more or fewer numbers (a replay reproduces each stream).
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A PRNG of its own for `label`, derived from this one's seed without drawing from it. */
  fork(label: string | number): Prng {
    let hash = this.state ^ 0x9e3779b9;
    for (const char of String(label)) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
    return new Prng(hash);
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max] (both inclusive, both safe integers). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One of `choices`, each as likely as its weight. */
  weighted<T>(choices: ReadonlyArray<readonly [weight: number, value: T]>): T {
    let total = 0;
    for (const [weight] of choices) total += weight;
    let draw = this.next() * total;
    for (const [weight, value] of choices) {
      draw -= weight;
      if (draw < 0) return value;
    }
    return choices[choices.length - 1]![1];
  }

  /** A length that is usually small and now and then large: 0..max, log-uniform. */
  size(max: number): number {
    return Math.min(max, Math.floor(Math.exp(this.next() * Math.log(max + 2))) - 1);
  }

  bytes(length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i += 4) {
      const word = Math.floor(this.next() * 4294967296);
      for (let j = 0; j < 4 && i + j < length; j++) bytes[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return bytes;
  }
}

/**
 * The run's seed: REGIO_FUZZ_SEED when given (to replay a run), otherwise random. Printed by the
 * test at the start and in every failure message.
 */
export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.REGIO_FUZZ_SEED;
  if (given === undefined || given === "") return Math.floor(Math.random() * 2 ** 32);
  const seed = Number(given);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 2 ** 32)
    throw new Error(`REGIO_FUZZ_SEED must be an integer in [0, 2^32), got '${given}'`);
  return seed;
}
