/**
 * Keeps the fuzzers abreast, so that each kind of frame is sent while the others are (a link
 * fuzzer that finished early would leave the client frames without hostile app links beside them).
 * A fuzzer more than `slack` frames ahead of the slowest unfinished one waits for it.
 */
export class Pace {
  private readonly sent = new Map<string, number>();
  private readonly waiting = new Set<() => void>();
  private released = false;

  constructor(
    private readonly target: number,
    private readonly slack = 2000,
  ) {}

  /** A fuzzer's frames so far; the ones waiting for it go on if they are no longer ahead. */
  report(name: string, frames: number): void {
    this.sent.set(name, frames);
    for (const wake of [...this.waiting]) wake();
  }

  /** Resolves once `name` is not ahead of the slowest unfinished fuzzer (at once if it is not). */
  turn(name: string): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        if (!this.released && this.ahead(name)) return;
        this.waiting.delete(wake);
        resolve();
      };
      this.waiting.add(wake);
      wake();
    });
  }

  /** Each fuzzer's frames so far (for a report when the run hangs). */
  progress(): Record<string, number> {
    return Object.fromEntries(this.sent);
  }

  /** Lets every fuzzer go (the run is being stopped). */
  release(): void {
    this.released = true;
    for (const wake of [...this.waiting]) wake();
  }

  private ahead(name: string): boolean {
    const mine = this.sent.get(name) ?? 0;
    let slowest = Infinity;
    for (const [other, frames] of this.sent) {
      if (other !== name && frames < this.target) slowest = Math.min(slowest, frames);
    }
    return mine > slowest + this.slack;
  }
}
