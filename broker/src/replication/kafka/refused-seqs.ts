/**
 * Ranges past which one stream's refused seqs are not tracked: an SDK sends a stream in order, so
 * what a buffer refuses runs on from the first refusal, one range in all but odd cases. Only a
 * broken or hostile app server makes more, and then only its own stream loses the ordering.
 */
const MAX_RANGES = 1024;

/**
 * The seqs of one stream that a publish buffer refused for now and that have not come again since:
 * the stream takes nothing past the lowest of them until that one comes (see
 * PublishBuffer.publishEvent). Every one of them will come again: the SDK keeps what was not
 * acknowledged and re-sends it in order. Kept as inclusive ranges, in order and disjoint.
 */
export class RefusedSeqs {
  private readonly ranges: Array<[first: number, last: number]> = [];

  /** The seq the stream waits for; undefined when it waits for none. */
  get lowest(): number | undefined {
    return this.ranges[0]?.[0];
  }

  has(seq: number): boolean {
    const i = this.indexFrom(seq);
    return i < this.ranges.length && this.ranges[i]![0] <= seq;
  }

  add(seq: number): void {
    const i = this.indexFrom(seq);
    const at = this.ranges[i];
    if (at && at[0] <= seq) return; // already in
    const before = this.ranges[i - 1];
    if (before && before[1] === seq - 1) {
      before[1] = seq;
      if (at && at[0] === seq + 1) {
        before[1] = at[1];
        this.ranges.splice(i, 1);
      }
    } else if (at && at[0] === seq + 1) {
      at[0] = seq;
    } else if (this.ranges.length < MAX_RANGES) {
      this.ranges.splice(i, 0, [seq, seq]);
    }
  }

  delete(seq: number): void {
    const i = this.indexFrom(seq);
    const at = this.ranges[i];
    if (!at || at[0] > seq) return;
    if (at[0] === at[1]) this.ranges.splice(i, 1);
    else if (seq === at[0]) at[0]++;
    else if (seq === at[1]) at[1]--;
    else {
      this.ranges.splice(i + 1, 0, [seq + 1, at[1]]);
      at[1] = seq - 1;
    }
  }

  /** The first range that ends at or after `seq` (ranges.length when none does). */
  private indexFrom(seq: number): number {
    let low = 0;
    let high = this.ranges.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.ranges[mid]![1] < seq) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
