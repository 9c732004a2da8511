/**
 * @module daemon/alert-rate
 * The rate limit of the immediate alert mail, as pure arithmetic over an injected clock: at most one
 * mail per interval, counted from the moment a mail was attempted (a failed one included, so a
 * broken mail server is tried once per interval, never in a loop). A block inside the quiet interval
 * is counted as deferred; the next mail (the first block after the interval) carries that count, and
 * the blocks themselves are left to the digest. The state is what daemon/alert-mail keeps on disk, so
 * a restart during a storm does not reset the limit.
 */

/** What survives a restart. Times are ms since the epoch. */
export interface AlertRateState {
  /** When the last mail was attempted (null: never). */
  readonly lastMailAt: number | null;
  /** Blocks since then that got no mail of their own (deferred, or a failed mail's). */
  readonly deferred: number;
  /** When the first of those happened (null when there are none). */
  readonly deferredSince: number | null;
}

export const FRESH_STATE: AlertRateState = { lastMailAt: null, deferred: 0, deferredSince: null };

export type AlertDecision =
  /** Mail now; `earlier` blocks since `since` got no mail (they are in the digest). */
  | { readonly kind: 'send'; readonly earlier: number; readonly since: number | null }
  /** No mail: counted. `first` is the first deferral of this quiet interval; `until` when it ends. */
  | { readonly kind: 'defer'; readonly first: boolean; readonly until: number };

export class AlertRateLimit {
  #state: AlertRateState;

  constructor(state: AlertRateState = FRESH_STATE) {
    this.#state = state;
  }

  get state(): AlertRateState {
    return this.#state;
  }

  /** When the quiet interval that started with the last mail ends (null: a mail may go now). */
  quietUntil(now: number, intervalMs: number): number | null {
    const last = this.#state.lastMailAt;
    if (last === null) return null;
    // A stamp further ahead than one interval means the clock was set back (or the file is
    // someone else's): waiting for it could silence the mail for months, so it does not count.
    if (last > now + intervalMs) return null;
    const until = last + intervalMs;
    return now >= until ? null : until;
  }

  /**
   * A host was blocked at `now`: mail it (the stamp moves to `now` and the deferred count goes
   * with the mail) or count it. `busy`: a mail is still being delivered, so this one is deferred
   * whatever the clock says (never two deliveries at once).
   */
  offer(now: number, intervalMs: number, busy = false): AlertDecision {
    const quiet = this.quietUntil(now, intervalMs);
    if (quiet === null && !busy) {
      const { deferred, deferredSince } = this.#state;
      this.#state = { lastMailAt: now, deferred: 0, deferredSince: null };
      return { kind: 'send', earlier: deferred, since: deferredSince };
    }
    const first = this.#state.deferred === 0;
    this.#state = {
      ...this.#state,
      deferred: this.#state.deferred + 1,
      deferredSince: this.#state.deferredSince ?? now,
    };
    return { kind: 'defer', first, until: quiet ?? now };
  }

  /**
   * The mail decided at `at` was not delivered: its block and the `earlier` ones it carried are
   * deferred again, for the next mail to count. The stamp stays: the next try is a block after the
   * interval, not a retry now.
   */
  failed(at: number, earlier: number, since: number | null): void {
    const first = Math.min(since ?? at, this.#state.deferredSince ?? at, at);
    this.#state = { ...this.#state, deferred: this.#state.deferred + earlier + 1, deferredSince: first };
  }
}

/** The state file's content, or null when it is not one (damaged, another version). */
export function parseAlertRateState(text: string): AlertRateState | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const time = (x: unknown): x is number | null =>
    x === null || (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0);
  if (v['version'] !== 1 || !time(v['lastMailAt']) || !time(v['deferredSince'])) return null;
  const deferred = v['deferred'];
  if (typeof deferred !== 'number' || !Number.isSafeInteger(deferred) || deferred < 0) return null;
  return { lastMailAt: v['lastMailAt'], deferred, deferredSince: v['deferredSince'] };
}

export function formatAlertRateState(state: AlertRateState): string {
  return `${JSON.stringify({ version: 1, ...state })}\n`;
}
