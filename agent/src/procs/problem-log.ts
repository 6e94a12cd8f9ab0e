// Logs each distinct problem once: /proc scanning meets the same EACCES or missing file for every
// pid, and one line per pid would drown the log.

export class ProblemLog {
  private readonly seen = new Set<string>();

  constructor(
    private readonly write: (message: string) => void = (m) => console.warn(m),
    private readonly maxKeys = 1024,
  ) {}

  /** Writes `message` unless a problem with the same key was already written. */
  report(key: string, message: string): void {
    if (this.seen.has(key)) return;
    // Bounded: past the cap, further distinct problems are still written but not remembered.
    if (this.seen.size < this.maxKeys) this.seen.add(key);
    this.write(message);
  }

  get distinctProblems(): number {
    return this.seen.size;
  }
}
