/**
 * @module daemon/housekeeping
 * The daemon's timers, as one service: lifting expired bans, saying what the log's sinks lost,
 * noticing when the host's addresses, gateways or resolvers change (and lifting bans of addresses
 * that became never-block ones), and (with nftables) putting our table back when someone removed it,
 * with each ban's time left. A failing task is logged and tried again at the next tick; ticks of one
 * task never overlap; no timer keeps the process alive.
 */
import { secondsLeft } from '../respond/ban-keeper.ts';
import { describeError } from '../errors.ts';
import { watchTable } from '../respond/nft.ts';
import type { NftBan } from '../respond/nft.ts';
import type { Ban } from '../state/ban-store.ts';
import type { Service } from './service.ts';
import type { Stack } from './stack.ts';

export interface HousekeepingTimings {
  /** How often expired bans are lifted. */
  expiryMs: number;
  /** How often the nft table is checked (and put back). */
  watchdogMs: number;
  /** How often the host's addresses, gateways and resolvers are re-read. */
  addressesMs: number;
}

export const DEFAULT_TIMINGS: HousekeepingTimings = { expiryMs: 1000, watchdogMs: 5000, addressesMs: 5000 };

/** The nft elements of the bans in force, each with the time it has left (0: until lifted). */
export function nftBansInForce(bans: Iterable<Ban>, now: number): NftBan[] {
  const out: NftBan[] = [];
  for (const ban of bans) {
    if (!ban.backends.includes('nft')) continue;
    if (ban.expires !== null && ban.expires <= now) continue;
    // The keeper's own arithmetic, so the watchdog puts back exactly what the keeper would.
    out.push({ address: ban.address, timeoutSeconds: secondsLeft(ban, now) ?? 0 });
  }
  return out;
}

export function housekeeping(stack: Stack, timings: HousekeepingTimings): Service {
  const timers: NodeJS.Timeout[] = [];
  let watchdog: { stop(): void } | null = null;
  const log = stack.reporter;
  const every = (ms: number, task: () => Promise<void>) => {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      task()
        .catch((err: unknown) => log.log({ kind: 'internalError', reason: describeError(err) }))
        .finally(() => (running = false));
    }, ms);
    timer.unref();
    timers.push(timer);
  };
  return {
    name: 'housekeeping',
    start() {
      every(timings.expiryMs, async () => {
        await stack.bans.keeper?.expire();
        // Lines the log lost (syslog's queue overflowed): said once its queue has drained.
        stack.reporter.notify();
      });
      every(timings.addressesMs, async () => {
        // A banned host that became an own address, a gateway or a resolver is unblocked.
        if (stack.refreshAddresses(false)) await stack.liftNeverBlocked();
      });
      const nft = stack.bans.backend.table;
      const store = stack.bans.store;
      if (nft && store) {
        watchdog = watchTable(nft, {
          intervalMs: timings.watchdogMs,
          active: () => nft.tableCreated,
          currentBans: () => nftBansInForce(store.all(), Date.now()),
          onRestored: (bans) => log.log({ kind: 'nftTablePutBack', table: nft.table, bans }),
          onError: (err) => log.log({ kind: 'nftError', reason: describeError(err) }),
        });
      }
      return Promise.resolve();
    },
    stop() {
      for (const timer of timers) clearInterval(timer);
      timers.length = 0;
      watchdog?.stop();
      watchdog = null;
      return Promise.resolve();
    },
    reload() {
      // SIGHUP re-reads the host's addresses whether or not they changed.
      stack.refreshAddresses(true);
      return Promise.resolve();
    },
  };
}
