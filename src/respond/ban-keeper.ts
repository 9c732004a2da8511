/**
 * @module respond/ban-keeper
 * The bans in force: the ban store (what is banned, since when, until when, why, and by which
 * backends) kept in step with the backends that enforce each ban. A ban is recorded after its
 * response succeeded, with the backends that took it; a failed response is undone where it partly
 * succeeded and recorded nowhere. Lifting (expiry, `unblock`, `flush`) undoes a ban in every backend
 * it was recorded with, then removes the record, so a crash in between lifts it again at the next
 * start instead of forgetting the undo. Restore puts every stored ban back after a restart, except
 * bans of never-block addresses (the same test as a new ban's), which it lifts and forgets, saying
 * why; a reload does the same for bans whose host became a never-block address. A ban's record
 * (its history line) is written after its response and before the ban is settled, so only a ban
 * a crash left pending can lack it, and restore has it written then.
 */
import { canonicalAddress, cidrContains, parseCidr } from '../net/address.ts';
import type { AlertLog } from '../report/alert-log.ts';
import type { LogMessage } from '../report/messages.ts';
import type { EvidenceKind } from '../detect/probe.ts';
import type { BanStore } from '../state/ban-store.ts';
import { banDefaults, makeBan, withBan, type Ban, type BanOrigin, type BanState } from '../state/ban.ts';
import { describeError, ErrorCodes, PortsnareError } from '../errors.ts';
import { backendOf, type BackendName } from './backend.ts';
import type {
  ClassicResponder,
  LiftTarget,
  RespondOptions,
  ResponseOutcome,
  ResponseRequest,
} from './classic-responder.ts';

export type LiftReason = 'expired' | 'unblocked' | 'flushed';

/**
 * The state of a record written before its response ran. The record written after the response is
 * `settled`, so a ban still pending at the next start was cut off by a crash mid-response.
 */
export const PENDING: BanState = 'pending';

/** Bans lifted together get a line each up to this many, then one line for the rest. */
export const LIFT_LINES_PER_BATCH = 100;

export interface BanRequest extends ResponseRequest {
  /** Ports that made the decision (a few). */
  ports: number[];
  /** e.g. 'Connect', 'TCP SYN/Normal scan', 'UDP scan', 'manual'. */
  scanType: string;
  /** Seconds the ban lasts; null: until unblocked. */
  seconds: number | null;
  /** Why: default `manual` for mode manual, else `detection`. */
  origin?: BanOrigin;
  /** The kind of evidence; default by mode (tcp: handshake, udp: datagram, others: packet; manual: none). */
  evidence?: EvidenceKind | null;
  /**
   * Writes what the ban is recorded as (its history line): run once the response succeeded and
   * before the ban is settled in the store, so a settled ban always has its line and only a ban a
   * crash left pending may lack it (restore's `recordCutOff` writes it then).
   */
  record?: () => Promise<void>;
}

/** A stored ban that may not be put back or kept (a never-block address), and why. */
export interface Refusal {
  ban: Ban;
  reason: string;
}

/** When a ban of a never-block address is found: at restore (not put back) or at a reload (lifted). */
export type RefusalMoment = 'restore' | 'reload';

/** Refused bans get a line each up to this many, then one line for the rest. */
export const REFUSAL_LINES_PER_BATCH = 10;

export interface RestoreOptions {
  /** Why an address must never be blocked (the never-block lists), or null: checked for every ban. */
  refuse?: (address: string) => string | null;
  /**
   * Given the bans a crash cut off mid-response (still pending), before they are settled: writes
   * the history lines that are missing among them.
   */
  recordCutOff?: (bans: readonly Ban[]) => Promise<void>;
}

export interface BanKeeperDeps {
  store: BanStore;
  responder: Pick<ClassicResponder, 'plan' | 'respond' | 'lift' | 'reapply'> &
    Partial<Pick<ClassicResponder, 'emptyNftSets'>>;
  log: AlertLog;
  now?: () => number;
  /** Told which addresses stopped being banned (the daemon clears them from the blocked files). */
  onLifted?: (addresses: string[]) => void | Promise<void>;
  /**
   * Told of each new ban once it is settled (in force and recorded), synchronously; the daemon's
   * alert mail listens here. It must not wait for anything: the block is done already.
   */
  onBanned?: (ban: Ban) => void;
}

export interface BanOutcome extends ResponseOutcome {
  /** The stored ban, or null when nothing was blocked (log-only, or a failure). */
  ban: Ban | null;
}

/** Whole seconds a ban still has (at least 1), or null for one until unblocked. */
export function secondsLeft(ban: Ban, now: number): number | null {
  return ban.expires === null ? null : Math.max(1, Math.ceil((ban.expires - now) / 1000));
}

function liftTarget(ban: Ban): LiftTarget {
  return { address: ban.address, backends: ban.backends, port: ban.ports[0] ?? 0, mode: ban.mode };
}

export class BanKeeper {
  readonly #deps: BanKeeperDeps;
  readonly #now: () => number;
  /** Addresses being lifted, so a concurrent expiry and unblock do not undo twice. */
  readonly #lifting = new Set<string>();

  constructor(deps: BanKeeperDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  get size(): number {
    return this.#deps.store.size;
  }

  has(address: string): boolean {
    return this.#deps.store.has(address);
  }

  get(address: string): Ban | undefined {
    return this.#deps.store.get(address);
  }

  /** Every ban, oldest first. */
  list(): Ban[] {
    return [...this.#deps.store.all()].sort((a, b) => a.since - b.since);
  }

  /**
   * Responds to a scanner (or a manual block) and records the ban. The record is written first,
   * with the backends the response is about to use, so a crash in the middle leaves a ban that the
   * next start puts back in force, never one that is enforced but known to nothing. After the
   * response the record is corrected to the backends that really took it: a hosts.deny line that was
   * already there is not ours to remove later. A failed response is undone where it changed
   * something, and its record is removed.
   */
  async ban(request: BanRequest, opts: RespondOptions = {}): Promise<BanOutcome> {
    const seconds = request.seconds && request.seconds > 0 ? request.seconds : null;
    const planned = this.#deps.responder.plan(request);
    const since = this.#now();
    const defaults = banDefaults(request.mode);
    const origin = request.origin ?? defaults.origin;
    const evidence = request.evidence === undefined ? defaults.evidence : request.evidence;
    const record = (backends: BackendName[], state: BanState) =>
      makeBan(
        request.address,
        since,
        seconds === null ? null : since + seconds * 1000,
        request.ports,
        request.scanType,
        request.mode,
        backends,
        { state, origin, evidence },
      );
    let intent = planned.length > 0;
    if (intent) {
      intent = await this.#write(() => this.#deps.store.add(record(planned, PENDING)), request.address);
    }
    const outcome = await this.#deps.responder.respond({ ...request, timeoutSeconds: seconds }, opts);
    const changed = outcome.actions.filter((a) => a.ok && !a.alreadyThere).map((a) => backendOf(a.key));
    if (outcome.ok) await request.record?.();
    if (!outcome.ok) {
      const undoable = changed.filter((b) => b !== 'cmd');
      if (undoable.length > 0) {
        await this.#deps.responder.lift([
          { address: request.address, backends: undoable, port: request.port, mode: request.mode },
        ]);
      }
      if (intent) await this.#write(() => this.#deps.store.remove(request.address), request.address);
      return { ...outcome, ban: null };
    }
    if (changed.length === 0 && !intent) return { ...outcome, ban: null };
    const ban = record(changed, 'settled');
    await this.#write(() => this.#deps.store.add(ban), request.address);
    try {
      this.#deps.onBanned?.(ban);
    } catch {
      // A listener's failure is its own (the alert mail logs its own); the ban is in force and stays.
    }
    return { ...outcome, ban };
  }

  /**
   * `portsnare block ADDR [--for D]`: a ban by hand in every blocking backend (never KILL_RUN_CMD),
   * logged and recorded like any other. An address already banned is returned as it is. Throws a
   * PortsnareError saying which backend failed, or that none is configured. The caller has checked
   * that the address may be blocked at all.
   */
  async banByHand(address: string, seconds: number | null): Promise<{ ban: Ban; already: boolean }> {
    const existing = this.#deps.store.get(address);
    if (existing) return { ban: existing, already: true };
    // Logged with the backends' lines once they worked (classic-responder), never before.
    const announce = { kind: 'manualBlock', address, seconds } as const;
    const outcome = await this.ban(
      {
        address,
        host: address,
        port: 0,
        mode: 'manual',
        protocol: 'tcp',
        ports: [],
        scanType: 'manual',
        seconds,
      },
      { announce },
    );
    if (!outcome.ok || !outcome.ban) {
      const failed = outcome.actions.filter((a) => !a.ok).map((a) => `${a.key}: ${a.detail}`);
      throw new PortsnareError(
        ErrorCodes.COMMAND_FAILED,
        failed.length > 0
          ? `could not block ${address}: ${failed.join('; ')}`
          : `no backend to block ${address} with (BLOCK_BACKEND, KILL_ROUTE, KILL_HOSTS_DENY)`,
      );
    }
    return { ban: outcome.ban, already: false };
  }

  /** A store write that must not stop a block: a failure is logged, and false returned. */
  async #write(write: () => Promise<unknown>, address: string): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (err) {
      this.#deps.log.log({
        kind: 'banStoreProblem',
        dir: 'STATE_DIR',
        text: `could not record the ban of ${address}: ${describeError(err)}`,
      });
      return false;
    }
  }

  /** Lifts bans from every backend that holds them, then forgets them; returns the bans lifted. */
  lift(bans: readonly Ban[], reason: LiftReason): Promise<Ban[]> {
    // One line per host, up to a point: a mass expiry or a flush of a million bans says the rest
    // in one line instead of flooding syslog (whose queue would drop lines anyway).
    return this.#liftAll(
      bans,
      LIFT_LINES_PER_BATCH,
      (b, backends) => ({ kind: 'banLifted', address: b.address, reason, backends }),
      (count) => ({ kind: 'bansLiftedMore', count, reason }),
    );
  }

  /**
   * Lifts stored bans of never-block addresses (an ignore-listed host, an own address, a gateway, a
   * resolver, an address that is not a real peer) from every backend they were recorded with, and
   * forgets them, with a line each saying why (one line for the rest past a few).
   */
  liftRefused(refusals: readonly Refusal[], at: RefusalMoment): Promise<Ban[]> {
    const why = new Map(refusals.map((r) => [r.ban.address, r.reason]));
    return this.#liftAll(
      refusals.map((r) => r.ban),
      REFUSAL_LINES_PER_BATCH,
      (b, backends) => ({
        kind: 'banRefused',
        address: b.address,
        reason: why.get(b.address) ?? '',
        backends,
        at,
      }),
      (count) => ({ kind: 'bansRefusedMore', count, at }),
    );
  }

  /** The stored bans of addresses `refuse` gives a reason for. */
  refusals(refuse: (address: string) => string | null): Refusal[] {
    const out: Refusal[] = [];
    for (const ban of this.#deps.store.all()) {
      const reason = refuse(ban.address);
      if (reason !== null) out.push({ ban, reason });
    }
    return out;
  }

  async #liftAll(
    bans: readonly Ban[],
    lines: number,
    say: (ban: Ban, backends: string) => LogMessage,
    sayMore: (count: number) => LogMessage,
  ): Promise<Ban[]> {
    const mine = bans.filter((b) => !this.#lifting.has(b.address));
    if (mine.length === 0) return [];
    for (const b of mine) this.#lifting.add(b.address);
    try {
      const undone = await this.#deps.responder.lift(mine.map(liftTarget));
      for (const b of mine.slice(0, lines))
        this.#deps.log.log(say(b, (undone.get(b.address) ?? []).join(', ')));
      if (mine.length > lines) this.#deps.log.log(sayMore(mine.length - lines));
      await Promise.all(mine.map((b) => this.#deps.store.remove(b.address)));
      await this.#deps.onLifted?.(mine.map((b) => b.address));
      return mine;
    } finally {
      for (const b of mine) this.#lifting.delete(b.address);
    }
  }

  /** Lifts the bans whose time has passed; returns how many. */
  async expire(now: number = this.#now()): Promise<number> {
    const due = this.#deps.store.expired(now);
    if (due.length === 0) return 0;
    return (await this.lift(due, 'expired')).length;
  }

  /**
   * `unblock ADDR|CIDR`: lifts every stored ban the target covers. A single address that is not
   * stored is still removed from the nft set and hosts.deny (a ban recorded nowhere, e.g. after a
   * crash between block and record), and reported as not banned.
   */
  async unblock(target: string): Promise<{ lifted: Ban[]; found: boolean }> {
    const address = canonicalAddress(target);
    if (address !== null) {
      const ban = this.#deps.store.get(address);
      if (ban) return { lifted: await this.lift([ban], 'unblocked'), found: true };
      await this.#deps.responder.lift([
        { address, backends: ['nft', 'hosts.deny'], port: 0, mode: 'manual' },
      ]);
      await this.#deps.onLifted?.([address]);
      return { lifted: [], found: false };
    }
    const parsed = parseCidr(target);
    if (!parsed.ok)
      throw new RangeError(`not an address or CIDR block: ${JSON.stringify(target)} (${parsed.reason})`);
    const covered = [...this.#deps.store.all()].filter((b) => cidrContains(parsed.cidr, b.address));
    const lifted = await this.lift(covered, 'unblocked');
    return { lifted, found: covered.length > 0 };
  }

  /** `flush`: lifts every ban portsnare holds, in every backend, and empties its nft sets. */
  async flush(): Promise<Ban[]> {
    const lifted = await this.lift([...this.#deps.store.all()], 'flushed');
    await this.#deps.responder.emptyNftSets?.();
    return lifted;
  }

  /**
   * After a start: puts every stored ban that has time left back into its backends (KILL_ROUTE only
   * when `rerunRoutes`, i.e. the host rebooted since the bans were made), then lifts the ones whose
   * time passed while nobody ran. A ban whose response a crash cut off (still PENDING) is put back
   * in all its planned backends, its route redone (UNKILL_ROUTE, then KILL_ROUTE), and its record
   * settled, once `recordCutOff` wrote the history lines missing among them. A ban of an address
   * `refuse` gives a reason for (the never-block lists, as for a new ban) is not put back: it is
   * lifted from the backends it was recorded with (a route or hosts.deny line left from before)
   * and forgotten, with a line saying why. Returns how many were put back.
   */
  async restore(rerunRoutes: boolean, opts: RestoreOptions = {}): Promise<number> {
    const now = this.#now();
    const settled: (LiftTarget & { secondsLeft: number | null })[] = [];
    const cutOff: Ban[] = [];
    const refused: Refusal[] = [];
    for (const ban of this.#deps.store.all()) {
      if (ban.expires !== null && ban.expires <= now) continue;
      const reason = opts.refuse?.(ban.address) ?? null;
      if (reason !== null) refused.push({ ban, reason });
      else if (ban.state === PENDING) cutOff.push(ban);
      else settled.push({ ...liftTarget(ban), secondsLeft: secondsLeft(ban, now) });
    }
    if (refused.length > 0) await this.liftRefused(refused, 'restore');
    await this.#deps.responder.reapply(settled, rerunRoutes);
    if (cutOff.length > 0) {
      await this.#deps.responder.reapply(
        cutOff.map((ban) => ({ ...liftTarget(ban), secondsLeft: secondsLeft(ban, now) })),
        true,
        true,
      );
      await opts.recordCutOff?.(cutOff);
      // Settled, keeping their origin: `restored` is not written for the keeper's own restarts.
      const done = cutOff.map((b) => withBan(b, { state: 'settled' }));
      await this.#write(() => this.#deps.store.addMany(done), `${done.length} interrupted ban(s)`);
    }
    await this.expire(now);
    return settled.length + cutOff.length;
  }
}
