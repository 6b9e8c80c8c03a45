/**
 * Tracks reading a set of topics up to the end they had when reading started: a node serves
 * fetchSockets from the membership view only once it has the whole view.
 */
export class CatchUp {
  /** topic -> partition -> offset of the last record that existed at the start */
  private readonly targets = new Map<string, Map<number, bigint>>();
  private resolve: () => void = () => {};
  readonly done = new Promise<void>((resolve) => (this.resolve = resolve));
  private expecting = 0;

  expect(topic: string, offsets: Array<{ partition: number; high: string; low: string }>): void {
    const partitions = new Map<number, bigint>();
    for (const { partition, high, low } of offsets) {
      if (BigInt(high) > BigInt(low)) partitions.set(partition, BigInt(high) - 1n);
    }
    this.targets.set(topic, partitions);
    this.expecting++;
    // Checked on the next tick, so that every topic is registered before an empty one resolves all.
    queueMicrotask(() => this.check());
  }

  consumed(topic: string, partition: number, offset: string): void {
    const partitions = this.targets.get(topic);
    const target = partitions?.get(partition);
    if (target !== undefined && BigInt(offset) >= target) {
      partitions!.delete(partition);
      this.check();
    }
  }

  private check(): void {
    if (this.expecting > 0 && [...this.targets.values()].every((p) => p.size === 0)) this.resolve();
  }
}
