/**
 * @module respond/block-rate
 * MAX_BLOCKS_PER_MINUTE: a cap on new blocks per minute. Past it portsnare keeps detecting and
 * logging, blocks no more, and says so once per minute with counts, so that a flood of forged
 * sources can never fill the firewall. The alert path keeps one per evidence kind, so forged
 * packets or datagrams never spend what completed handshakes are allowed. Pure: the clock comes in.
 */

export type BlockRateDecision =
  | { allowed: true; report: null | { suppressed: number } }
  | { allowed: false; report: null | { firstOfWindow: true } };

export class BlockRate {
  readonly #limit: number;
  readonly #windowMs: number;
  #windowStart = -Infinity;
  #used = 0;
  #suppressed = 0;
  #pendingSummary = 0;

  /** `limit` 0 means no cap. */
  constructor(limit: number, windowMs = 60_000) {
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  get limit(): number {
    return this.#limit;
  }

  /**
   * Asks for one block at `now`. A refusal reports `firstOfWindow` once per window (log "cap
   * reached"); the first call of the next window carries how many were refused in the last one.
   */
  take(now: number): BlockRateDecision {
    if (now - this.#windowStart >= this.#windowMs) {
      this.#pendingSummary = this.#suppressed;
      this.#windowStart = now;
      this.#used = 0;
      this.#suppressed = 0;
    }
    const summary = this.#pendingSummary > 0 ? { suppressed: this.#pendingSummary } : null;
    if (this.#limit === 0 || this.#used < this.#limit) {
      this.#used++;
      this.#pendingSummary = 0;
      return { allowed: true, report: summary };
    }
    this.#suppressed++;
    return { allowed: false, report: this.#suppressed === 1 ? { firstOfWindow: true } : null };
  }
}
