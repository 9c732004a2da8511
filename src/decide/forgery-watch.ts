/**
 * @module decide/forgery-watch
 * Says, once per interval and with counts, that packet evidence is being forged at scale and what
 * portsnare does about it: the sequential test's bar (detect/sequential-test) is far above its idle
 * value, or more sources passed it than the packet-evidence budget allows. Quiet otherwise. Pure:
 * the interval runs in probe time.
 */
import type { BackgroundState } from '../detect/sequential-test.ts';
import type { LogMessage } from '../report/messages.ts';

export const FORGERY_INTERVAL_MS = 60_000;
/** The bar counts as raised by a flood once ln A is this much above idle (A 1000 times idle). */
const RAISED_BY = Math.log(1000);

export class ForgeryWatch {
  readonly #idleBar: number;
  #start = -Infinity;
  #probes = 0;
  #alerts = 0;
  #capped = 0;

  /** `idleThreshold`: SEQUENTIAL_IDLE_THRESHOLD (A at idle). */
  constructor(idleThreshold: number) {
    this.#idleBar = Math.log(idleThreshold);
  }

  /** A packet-evidence probe at `time` was judged; `alert`: it passed. Returns the summary when one is due. */
  probe(time: number, alert: boolean, background: () => BackgroundState | null): LogMessage | null {
    let message: LogMessage | null = null;
    if (time - this.#start >= FORGERY_INTERVAL_MS) {
      const state = this.#start > -Infinity ? background() : null;
      if (state) message = this.#summary(time, state);
      this.#start = time;
      this.#probes = 0;
      this.#alerts = 0;
      this.#capped = 0;
    }
    this.#probes++;
    if (alert) this.#alerts++;
    return message;
  }

  /** A packet-evidence alert was left unbanned by MAX_BLOCKS_PER_MINUTE. */
  capped(): void {
    this.#capped++;
  }

  #summary(now: number, background: BackgroundState): LogMessage | null {
    const raised = background.threshold - this.#idleBar >= RAISED_BY;
    if (!raised && this.#capped === 0) return null;
    return {
      kind: 'forgedEvidence',
      seconds: Math.round((now - this.#start) / 1000),
      probes: this.#probes,
      sourcesPerSecond: Math.round(background.sourcesPerSecond),
      ratePerSecond: background.ratePerSecond,
      bar: background.threshold,
      passed: this.#alerts,
      capped: this.#capped,
    };
  }
}
