/**
 * @module daemon/bans
 * The response half of the stack: the backends BLOCK_BACKEND resolves to, the responder over them,
 * the ban store and the ban keeper that keeps the two in step. `open` builds them (the control
 * commands stop there); `start` is the daemon's: it also says which backends it uses and what the
 * store could not read, and puts the stored bans back in force. What a response does is respond/'s.
 */
import type { Settings } from '../config/settings.ts';
import { describeError, ErrorCodes, PortsnareError } from '../errors.ts';
import type { AlertLog } from '../report/reporter.ts';
import { BanKeeper } from '../respond/ban-keeper.ts';
import { ClassicResponder } from '../respond/classic-responder.ts';
import type { CommandRunner } from '../respond/exec.ts';
import type { HostsDenyOutcome } from '../respond/hosts-deny.ts';
import { BanStore, snapshotLoss, type Ban } from '../state/ban-store.ts';
import { StateNames } from '../state/state-dir.ts';
import { bootChanged, NO_BACKEND, type ResolvedBackend } from './block-backend.ts';

/** How responses reach the system (the real runner and hosts.deny, or a dry run). */
export interface ResponderIo {
  run: CommandRunner;
  addHostsDenyLine: (path: string, line: string) => Promise<HostsDenyOutcome>;
  addHostsDenyLines?: (path: string, lines: string[]) => Promise<number>;
  removeHostsDenyLines?: (path: string, lines: string[]) => Promise<number>;
}

export interface BansDeps {
  settings: () => Settings;
  log: AlertLog;
  io: ResponderIo;
  /** Chooses the backends. */
  backend: (settings: Settings) => Promise<ResolvedBackend>;
  /** The ban store's directory. */
  storeDir: string;
  /** The keeper's and the store's clock (default Date.now). */
  now?: () => number;
  /** Told which addresses stopped being banned. */
  onLifted?: (addresses: string[]) => Promise<void>;
  /** Told of each new ban once it is in force (the daemon's alert mail). */
  onBanned?: (ban: Ban) => void;
  /** Why an address must never be blocked (the never-block lists), or null; restore checks each ban. */
  refuse?: (address: string) => string | null;
  /** Writes the missing history lines of bans a crash cut off (the history file's sink). */
  recordCutOff?: (bans: readonly Ban[]) => Promise<unknown>;
}

export class Bans {
  readonly #deps: BansDeps;
  #backend: ResolvedBackend = NO_BACKEND;
  #store: BanStore | null = null;
  #keeper: BanKeeper | null = null;

  constructor(deps: BansDeps) {
    this.#deps = deps;
  }

  get backend(): ResolvedBackend {
    return this.#backend;
  }

  get store(): BanStore | null {
    return this.#store;
  }

  /** The bans in force (null until open). */
  get keeper(): BanKeeper | null {
    return this.#keeper;
  }

  /** Chooses the backends, opens the store and makes the keeper; logs nothing of its own. */
  async open(): Promise<{ store: BanStore; keeper: BanKeeper }> {
    return this.#build(await this.#deps.backend(this.#deps.settings()));
  }

  /** The daemon's start: open, saying what it uses and found, then put the stored bans back. */
  async start(): Promise<void> {
    await this.startOpen();
    await this.restore();
  }

  /**
   * The first half of the daemon's start: choose the backends and open the store, which takes
   * STATE_DIR's lock (a second daemon stops here, before it has touched any file), saying what it
   * uses and what the store could not read.
   */
  async startOpen(): Promise<void> {
    const { settings, log, storeDir } = this.#deps;
    const backend = await this.#deps.backend(settings());
    log.log({
      kind: 'blockBackend',
      backends: backend.description,
      setting: settings().blockBackend,
      why: backend.why,
    });
    const { store } = await this.#build(backend);
    const report = store.loadReport;
    const problems = [
      report.corruptRecords > 0 && `${report.corruptRecords} damaged record(s) skipped`,
      report.tornTailBytes > 0 && `${report.tornTailBytes} byte(s) of an interrupted write dropped`,
      report.snapshotShortfall > 0 && `${report.snapshotShortfall} ban(s) missing from the snapshot`,
      report.badAddresses > 0 &&
        `${report.badAddresses} record(s) skipped whose address is not a canonical unicast address`,
      ...report.rejectedFiles.map((f) => `a file that is not a ban store was moved to ${f}`),
    ].filter((p): p is string => typeof p === 'string');
    for (const text of problems) log.log({ kind: 'banStoreProblem', dir: storeDir, text });
    const lost = snapshotLoss(report);
    if (lost !== null) log.log({ kind: 'banStoreLost', dir: storeDir, text: lost });
  }

  /**
   * The second half: put the stored bans back in force (routes again after a reboot), except those
   * of never-block addresses, which are lifted and forgotten; bans a crash cut off get their
   * missing history lines.
   */
  async restore(): Promise<void> {
    const { settings, log, storeDir } = this.#deps;
    const keeper = this.#keeper;
    const store = this.#store;
    if (!keeper || !store)
      throw new PortsnareError(ErrorCodes.STARTING, 'restore before the store was opened');
    const report = store.loadReport;
    const rebooted = await bootChanged(settings().stateDir);
    const started = performance.now();
    const recordCutOff = this.#deps.recordCutOff;
    const count = await keeper.restore(rebooted, {
      refuse: this.#deps.refuse,
      recordCutOff: recordCutOff && (async (bans) => void (await recordCutOff(bans))),
    });
    if (count > 0) {
      log.log({
        kind: 'bansRestored',
        count,
        dir: storeDir,
        ms: Math.round(performance.now() - started + report.loadMs),
        routesRerun: rebooted,
      });
    }
  }

  /** Closes the store; with `quiet`, a failure is logged instead of thrown (daemon shutdown). */
  async close(quiet = false): Promise<void> {
    const store = this.#store;
    if (!store) return;
    try {
      await store.close();
    } catch (err) {
      if (!quiet) throw err;
      this.#deps.log.log({
        kind: 'banStoreProblem',
        dir: StateNames.bans,
        text: `close: ${describeError(err)}`,
      });
    }
  }

  async #build(backend: ResolvedBackend): Promise<{ store: BanStore; keeper: BanKeeper }> {
    const { settings, log, io, now } = this.#deps;
    this.#backend = backend;
    const store = await BanStore.open(this.#deps.storeDir, { dropExpired: false, now });
    this.#store = store;
    const responder = new ClassicResponder({
      settings,
      log,
      ...io,
      nft: backend.nft,
      classic: backend.classic,
    });
    const keeper = new BanKeeper({
      store,
      responder,
      log,
      now,
      onLifted: this.#deps.onLifted,
      onBanned: this.#deps.onBanned,
    });
    this.#keeper = keeper;
    return { store, keeper };
  }
}
