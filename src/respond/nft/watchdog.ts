/**
 * @module respond/nft/watchdog
 * Puts portsnare's nft table back when someone removed it (`nft flush ruleset`, a firewall reload),
 * with the bans in force. Checks on a timer that does not keep the process alive; not the table or
 * the bans themselves (respond/nft/responder, the ban keeper).
 */
import type { NftBan } from './script.ts';
import type { NftResponder } from './responder.ts';

export interface WatchTableOptions {
  /** How often to check. */
  intervalMs: number;
  /** Checks are skipped while this says false (a deferred table not made yet). Default: always. */
  active?: () => boolean;
  /** The bans to put back when the table has vanished, timeouts as what is left of them. */
  currentBans: () => NftBan[];
  /** Called after a restore with the number of bans put back. */
  onRestored: (count: number) => void;
  /** A check or restore failed (it is tried again at the next interval). Default: ignored. */
  onError?: (err: unknown) => void;
}

/**
 * Puts the table back when someone removed it (`nft flush ruleset`, a firewall reload): every
 * `intervalMs` it checks isPresent(), and if not, runs ensureTable() and re-adds currentBans().
 * Checks never overlap; the timer does not keep the process alive.
 */
export function watchTable(
  responder: Pick<NftResponder, 'isPresent' | 'ensureTable' | 'block'>,
  opts: WatchTableOptions,
): { stop(): void } {
  if (!Number.isFinite(opts.intervalMs) || opts.intervalMs <= 0) {
    throw new RangeError(`intervalMs must be > 0, got ${opts.intervalMs}`);
  }
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    if (opts.active && !opts.active()) return;
    if (await responder.isPresent()) return;
    await responder.ensureTable();
    const bans = opts.currentBans();
    await responder.block(bans);
    opts.onRestored(bans.length);
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void check()
        .catch((err: unknown) => {
          try {
            opts.onError?.(err);
          } catch {
            // a throwing error handler must not become an unhandled rejection
          }
        })
        .finally(schedule);
    }, opts.intervalMs);
    timer.unref();
  };
  schedule();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
