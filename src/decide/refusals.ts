/**
 * @module decide/refusals
 * "Not blocking host X" is said once per source per interval: a spoofed flood that forges the
 * gateway's or our own address must not turn into a flood of log lines. The table is bounded; when
 * full, the oldest entries go first (an early repeat of an evicted source is the worst case).
 */

export const REFUSAL_LOG_INTERVAL_SECONDS = 600;
const MAX_REMEMBERED = 4096;

export class RefusalLog {
  readonly intervalMs: number;
  readonly #last = new Map<string, number>();

  constructor(intervalSeconds = REFUSAL_LOG_INTERVAL_SECONDS) {
    this.intervalMs = intervalSeconds * 1000;
  }

  /** True if a refusal of `address` at `now` should be logged (and remembers that it was). */
  shouldLog(address: string, now: number): boolean {
    const last = this.#last.get(address);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.#last.delete(address);
    if (this.#last.size >= MAX_REMEMBERED) {
      const oldest = this.#last.keys().next();
      if (!oldest.done) this.#last.delete(oldest.value);
    }
    this.#last.set(address, now);
    return true;
  }
}
