/**
 * @module daemon/daemon
 * The running daemon: wires sensors (traps and packet capture) to the detector, the detector to the
 * ban keeper (responder + ban store), and records what happened in syslog and the history/blocked
 * files. Owns the per-host response state: one response in flight per host, later hits wait for its
 * outcome. Also runs the housekeeping: ban expiry, the nft table watchdog, and noticing when the
 * host's addresses, gateways or resolvers change.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { applyReload, blockedFilePath, type LoadedSettings, type Settings } from '../config/settings.ts';
import type { IgnoreFile } from '../config/ignore-file.ts';
import { diagnosticWhere, type Diagnostic } from '../config/diagnostic.ts';
import { Detector, type DetectorLists } from '../detect/detector.ts';
import { isClassic, protocolOf, type Mode, type ProbeEvent } from '../detect/probe.ts';
import { describeError } from '../errors.ts';
import { CidrSet } from '../net/cidr-set.ts';
import { hostAddresses, ownAddressSet } from '../net/host-addresses.ts';
import { protectedHosts } from '../net/protected-hosts.ts';
import type { AlertLog } from '../report/alert-log.ts';
import { alertMessages } from '../report/alert-messages.ts';
import { appendLine, BlockedFile, ensureParentDirectory, formatHistoryLine } from '../report/history.ts';
import { BlockRate } from '../respond/block-rate.ts';
import { BanKeeper } from '../respond/ban-keeper.ts';
import { ClassicResponder } from '../respond/classic-responder.ts';
import type { CommandRunner } from '../respond/exec.ts';
import type { HostsDenyOutcome } from '../respond/hosts-deny.ts';
import { watchTable, type NftResponder } from '../respond/nft.ts';
import { BanStore, type Ban } from '../state/ban-store.ts';
import { ControlServer } from '../control/server.ts';
import { StateNames, statePaths } from '../state/state-dir.ts';
import { ErrorCodes, PortsnareError } from '../errors.ts';
import { controlHandler } from './control-handler.ts';
import { bootChanged, resolveBlockBackend, type ResolvedBackend } from './block-backend.ts';
import { RefusalLog } from './refusals.ts';
import { PORTSENTRY_COMPAT_VERSION } from '../version.ts';
import { ClassicTcpSensor, ClassicUdpSensor } from '../sensors/classic.ts';
import { PacketSensor } from '../sensors/packet.ts';
import { Resolver } from './resolver.ts';
import type { Sensor, SensorContext, TrapSummary } from '../sensors/sensor.ts';

export interface DaemonDeps {
  log: AlertLog;
  /** Builds the sensors for the modes (tests and replay substitute their own). */
  sensors?: (modes: readonly Mode[], ctx: SensorContext) => Sensor[];
  run: CommandRunner;
  addHostsDenyLine: (path: string, line: string) => Promise<HostsDenyOutcome>;
  addHostsDenyLines?: (path: string, lines: string[]) => Promise<number>;
  removeHostsDenyLines?: (path: string, lines: string[]) => Promise<number>;
  /** Chooses the blocking backends (tests and replay substitute their own). Default: BLOCK_BACKEND. */
  backend?: (settings: Settings) => Promise<ResolvedBackend>;
  /** Open the control socket in STATE_DIR (default true). */
  control?: boolean;
  /** Housekeeping periods (tests shorten them). */
  timings?: Partial<DaemonTimings>;
  resolver?: Resolver;
  /** Reads config and ignore file again (SIGHUP). */
  reload: () => Promise<{ loaded: LoadedSettings; ignore: IgnoreFile }>;
}

export interface DaemonTimings {
  /** How often expired bans are lifted. */
  expiryMs: number;
  /** How often the nft table is checked (and put back). */
  watchdogMs: number;
  /** How often the host's addresses, gateways and resolvers are re-read. */
  addressesMs: number;
}

const DEFAULT_TIMINGS: DaemonTimings = { expiryMs: 1000, watchdogMs: 5000, addressesMs: 5000 };

export interface DaemonCounters {
  hits: number;
  ignored: number;
  /** Never-block sources that reached the trigger (each logged once per interval). */
  refused: number;
  belowTrigger: number;
  alerts: number;
  blocks: number;
  failedResponses: number;
  /** Alerts not handled because MAX_PENDING_ALERTS were already waiting (a flood). */
  alertsDropped: number;
  /** Hosts not blocked because MAX_BLOCKS_PER_MINUTE was reached. */
  blocksCapped: number;
}

/** Alerts being handled at once (resolving, responding, recording); beyond it they are counted and dropped. */
export const MAX_PENDING_ALERTS = 10_000;

type Outcome = 'blocked' | 'already' | 'failed';

const HISTORY_MODE = 0o600;

export function logDiagnostics(log: AlertLog, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) {
    log.log({ kind: 'configProblem', severity: d.severity, where: diagnosticWhere(d), text: d.message });
  }
}

/** Never acted on: the ignore file, and the host's own addresses, its gateways and resolvers. */
function detectorLists(
  ignore: IgnoreFile,
  addresses: readonly string[],
  guarded: readonly string[],
): DetectorLists {
  const set = new CidrSet();
  for (const entry of ignore.entries) set.add(entry.cidr);
  return { ignore: set, own: ownAddressSet([...addresses, ...guarded]) };
}

function triggerSettings(settings: Settings) {
  return {
    scanTrigger: settings.scanTrigger,
    stealthPorts: settings.stealthTriggerPorts,
    stealthWindowMs: settings.stealthTriggerWindow * 1000,
    maxTrackedSources: settings.maxTrackedSources,
  };
}

/** A stored ban's scan type: 1.2's scan label, `Connect` (classic TCP) or `UDP scan`. */
function scanTypeOf(event: ProbeEvent): string {
  if (event.mode === 'tcp') return 'Connect';
  if (event.protocol === 'udp') return 'UDP scan';
  return (event.label ?? 'TCP scan').trim();
}

/** The sensors of a set of modes: classic traps, and one packet capture for all packet modes. */
export function defaultSensors(modes: readonly Mode[], ctx: SensorContext): Sensor[] {
  const sensors: Sensor[] = [];
  if (modes.includes('tcp')) sensors.push(new ClassicTcpSensor(ctx));
  if (modes.includes('udp')) sensors.push(new ClassicUdpSensor(ctx));
  const packetModes = modes.filter((m) => !isClassic(m));
  if (packetModes.length > 0) sensors.push(new PacketSensor(ctx, packetModes));
  return sensors;
}

export class Daemon {
  readonly modes: readonly Mode[];
  readonly counters: DaemonCounters = {
    hits: 0,
    ignored: 0,
    refused: 0,
    belowTrigger: 0,
    alerts: 0,
    blocks: 0,
    failedResponses: 0,
    alertsDropped: 0,
    blocksCapped: 0,
  };
  #loaded: LoadedSettings;
  readonly #deps: DaemonDeps;
  readonly #detector: Detector;
  #responder: ClassicResponder;
  #keeper: BanKeeper | null = null;
  #store: BanStore | null = null;
  #backend: ResolvedBackend = { nft: null, classic: true, description: '', why: '' };
  readonly #timings: DaemonTimings;
  readonly #timers: NodeJS.Timeout[] = [];
  #watchdog: { stop(): void } | null = null;
  #control: ControlServer | null = null;
  readonly #refusals = new RefusalLog();
  #ignore: IgnoreFile;
  /** Default gateways and resolvers, as last read. */
  #guarded: string[];
  readonly #resolver: Resolver;
  #blockRate: BlockRate;
  readonly #blockedFiles = new Map<Mode, BlockedFile>();
  readonly #pending = new Map<string, Promise<Outcome>>();
  readonly #inflight = new Set<Promise<void>>();
  #sensors: Sensor[] = [];
  #addresses: string[];
  #pidFile: string | null = null;

  constructor(modes: readonly Mode[], loaded: LoadedSettings, ignore: IgnoreFile, deps: DaemonDeps) {
    this.modes = modes;
    this.#loaded = loaded;
    this.#deps = deps;
    this.#addresses = hostAddresses();
    this.#guarded = protectedHosts();
    this.#ignore = ignore;
    this.#timings = { ...DEFAULT_TIMINGS, ...deps.timings };
    this.#detector = new Detector(
      detectorLists(ignore, this.#addresses, this.#guarded),
      triggerSettings(loaded.settings),
    );
    this.#resolver = deps.resolver ?? new Resolver();
    this.#blockRate = new BlockRate(loaded.settings.maxBlocksPerMinute);
    this.#responder = this.#makeResponder(null, true);
  }

  #makeResponder(nft: NftResponder | null, classic: boolean): ClassicResponder {
    return new ClassicResponder({
      settings: () => this.settings,
      log: this.#deps.log,
      run: this.#deps.run,
      addHostsDenyLine: this.#deps.addHostsDenyLine,
      addHostsDenyLines: this.#deps.addHostsDenyLines,
      removeHostsDenyLines: this.#deps.removeHostsDenyLines,
      nft,
      classic,
    });
  }

  /** The bans (null before start() opened the store). */
  get bans(): BanKeeper | null {
    return this.#keeper;
  }

  get backend(): ResolvedBackend {
    return this.#backend;
  }

  get settings(): Settings {
    return this.#loaded.settings;
  }

  /**
   * Prepares files, opens the traps and logs 1.2's startup lines. Throws (after logging why) when a
   * mode ends up with no trap at all.
   */
  async start(): Promise<void> {
    const { log } = this.#deps;
    const settings = this.settings;
    log.log({ kind: 'starting', version: PORTSENTRY_COMPAT_VERSION });
    await mkdir(settings.stateDir, { recursive: true, mode: 0o700 });
    try {
      await ensureParentDirectory(settings.historyFile);
    } catch {
      log.log({ kind: 'historyFileOpenFailed', path: settings.historyFile });
      throw new PortsnareError(ErrorCodes.FILE, `cannot create the directory of ${settings.historyFile}`);
    }
    for (const mode of this.modes) {
      const file = new BlockedFile(blockedFilePath(settings, mode));
      try {
        await file.reset();
      } catch {
        log.log({ kind: 'blockedFileDeleteFailed', path: file.path });
        throw new PortsnareError(ErrorCodes.FILE, `cannot create or empty ${file.path}`);
      }
      this.#blockedFiles.set(mode, file);
    }
    await this.#openBans();

    const ctx: SensorContext = {
      log,
      settings: () => this.settings,
      onProbe: (event, confirm) => this.#onHit(event, confirm),
      localAddresses: () => this.#addresses,
    };
    this.#sensors = (this.#deps.sensors ?? defaultSensors)(this.modes, ctx);
    for (const sensor of this.#sensors) await sensor.start();

    this.#pidFile = statePaths(settings.stateDir).pidFile;
    await writeFile(this.#pidFile, `${process.pid}\n`, { mode: 0o644 });
    this.#startHousekeeping();
    if (this.#deps.control !== false) {
      this.#control = await ControlServer.listen(
        statePaths(settings.stateDir).socket,
        controlHandler(this, new Date()),
        (err) => log.log({ kind: 'controlError', reason: describeError(err) }),
      );
      log.log({ kind: 'controlListening', path: this.#control.path });
    }
    log.log({ kind: 'active' });
  }

  /** What every sensor watches. */
  traps(): TrapSummary[] {
    return this.#sensors.flatMap((s) => s.traps());
  }

  /** Why the daemon must never block this address, or null. */
  neverBlockReason(address: string): string | null {
    const verdict = this.#detector.listed(address);
    return verdict === null ? null : this.#refusalReason(address, verdict);
  }

  /** `portsnare block ADDR [--for D]`: blocks by hand (not capped), recorded like any ban. */
  async manualBlock(address: string, seconds: number | null): Promise<{ ban: Ban; already: boolean }> {
    const keeper = this.#keeper;
    if (!keeper) throw new PortsnareError(ErrorCodes.STARTING, 'the daemon is still starting');
    const refusal = this.neverBlockReason(address);
    if (refusal !== null)
      throw new PortsnareError(ErrorCodes.INVALID_ADDRESS, `refusing to block ${address}: ${refusal}`);
    return keeper.banByHand(
      address,
      seconds ?? (this.settings.blockTime > 0 ? this.settings.blockTime : null),
    );
  }

  /** Chooses the backends, opens the ban store and puts its bans back in force. */
  async #openBans(): Promise<void> {
    const { log } = this.#deps;
    const settings = this.settings;
    const choose =
      this.#deps.backend ??
      ((s: Settings) => resolveBlockBackend(s.blockBackend, s.blockTcp !== 1 && s.blockUdp !== 1));
    this.#backend = await choose(settings);
    log.log({
      kind: 'blockBackend',
      backends: this.#backend.description,
      setting: settings.blockBackend,
      why: this.#backend.why,
    });
    this.#responder = this.#makeResponder(this.#backend.nft, this.#backend.classic);
    const dir = statePaths(settings.stateDir).bans;
    const store = await BanStore.open(dir, { dropExpired: false });
    this.#store = store;
    const report = store.loadReport;
    const problems = [
      report.corruptRecords > 0 && `${report.corruptRecords} damaged record(s) skipped`,
      report.tornTailBytes > 0 && `${report.tornTailBytes} byte(s) of an interrupted write dropped`,
      report.snapshotShortfall > 0 && `${report.snapshotShortfall} ban(s) missing from the snapshot`,
      ...report.rejectedFiles.map((f) => `a file that is not a ban store was moved to ${f}`),
    ].filter((p): p is string => typeof p === 'string');
    for (const text of problems) log.log({ kind: 'banStoreProblem', dir, text });
    this.#keeper = new BanKeeper({
      store,
      responder: this.#responder,
      log,
      onLifted: (addresses) => this.#forgetBlocked(addresses),
    });
    const rebooted = await bootChanged(settings.stateDir);
    const started = performance.now();
    const count = await this.#keeper.restore(rebooted);
    if (count > 0) {
      log.log({
        kind: 'bansRestored',
        count,
        dir,
        ms: Math.round(performance.now() - started + report.loadMs),
        routesRerun: rebooted,
      });
    }
  }

  /** An unblocked or expired host is no longer "already blocked": drop it from the blocked files. */
  async #forgetBlocked(addresses: string[]): Promise<void> {
    for (const file of this.#blockedFiles.values()) {
      await this.#record(file.path, () => file.remove(addresses));
    }
  }

  #startHousekeeping(): void {
    const every = (ms: number, task: () => Promise<void>) => {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        task()
          .catch((err: unknown) => this.#deps.log.log({ kind: 'internalError', reason: describeError(err) }))
          .finally(() => (running = false));
      }, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(this.#timings.expiryMs, async () => {
      await this.#keeper?.expire();
    });
    every(this.#timings.addressesMs, () => {
      this.#refreshAddresses(false);
      return Promise.resolve();
    });
    const nft = this.#backend.nft;
    const store = this.#store;
    if (nft && store) {
      this.#watchdog = watchTable(nft, {
        intervalMs: this.#timings.watchdogMs,
        active: () => nft.tableCreated,
        currentBans: () => {
          const now = Date.now();
          const bans = [];
          for (const ban of store.all()) {
            if (!ban.backends.includes('nft')) continue;
            if (ban.expires !== null && ban.expires <= now) continue;
            const timeoutSeconds =
              ban.expires === null ? 0 : Math.max(1, Math.ceil((ban.expires - now) / 1000));
            bans.push({ address: ban.address, timeoutSeconds });
          }
          return bans;
        },
        onRestored: (bans) => this.#deps.log.log({ kind: 'nftTablePutBack', table: nft.table, bans }),
        onError: (err) => this.#deps.log.log({ kind: 'nftError', reason: describeError(err) }),
      });
    }
  }

  /**
   * Re-reads the host's addresses, gateways and resolvers; when they changed, the detector and the
   * sensors follow. `force`: apply even if nothing changed (SIGHUP). Returns whether they changed.
   */
  #refreshAddresses(force: boolean): boolean {
    const addresses = hostAddresses();
    const guarded = protectedHosts();
    const same = (a: readonly string[], b: readonly string[]) =>
      a.length === b.length && [...a].sort().join(' ') === [...b].sort().join(' ');
    const changed = !same(addresses, this.#addresses) || !same(guarded, this.#guarded);
    if (!changed && !force) return false;
    this.#addresses = addresses;
    this.#guarded = guarded;
    for (const sensor of this.#sensors) sensor.addressesChanged?.(this.#addresses);
    this.#detector.reconfigure(
      detectorLists(this.#ignore, this.#addresses, this.#guarded),
      triggerSettings(this.settings),
    );
    if (changed && !force) {
      this.#deps.log.log({ kind: 'addressesChanged', own: addresses.length, protectedHosts: guarded.length });
    }
    return changed;
  }

  /** A sensor's hit: judged synchronously; returns the banner to send (classic modes) or null. */
  #onHit(event: ProbeEvent, confirm?: () => boolean): Buffer | null {
    this.counters.hits++;
    const verdict = this.#detector.judge(event);
    if (verdict.kind === 'ignored') {
      this.counters.ignored++;
      return null;
    }
    if (verdict.kind === 'refused') {
      this.counters.refused++;
      if (this.#refusals.shouldLog(event.source, event.time)) {
        this.#deps.log.log({
          kind: 'refusedBlock',
          address: event.source,
          reason: this.#refusalReason(event.source, verdict.reason),
          intervalSeconds: this.#refusals.intervalMs / 1000,
        });
      }
      return null;
    }
    if (verdict.kind === 'below-trigger') {
      this.counters.belowTrigger++;
      return null;
    }
    if (confirm && !confirm()) {
      this.counters.belowTrigger++;
      return null;
    }
    this.counters.alerts++;
    if (this.#inflight.size >= MAX_PENDING_ALERTS) {
      this.counters.alertsDropped++;
      return null;
    }
    const ports = verdict.ports ?? [event.port];
    const task = this.#handleAlert(event, ports).catch((err: unknown) =>
      this.#deps.log.log({
        kind: 'sensorError',
        protocol: event.protocol,
        port: event.port,
        reason: describeError(err),
      }),
    );
    this.#inflight.add(task);
    void task.finally(() => this.#inflight.delete(task));
    const banner = this.settings.portBanner;
    return banner ? Buffer.from(banner) : null;
  }

  #refusalReason(address: string, reason: 'ignore-list' | 'own-address'): string {
    if (reason === 'ignore-list') return 'it is on the ignore list';
    if (this.#guarded.includes(address)) return 'it is a default gateway or a resolver of this host';
    return 'it is an address of this host';
  }

  async #handleAlert(event: ProbeEvent, ports: number[]): Promise<void> {
    const { log } = this.#deps;
    const host = this.settings.resolveHost ? await this.#resolver.nameOf(event.source) : event.source;
    const address = event.source;
    for (const message of alertMessages(event, host)) log.log(message);
    const alreadyBlocked = () => log.log({ kind: 'alreadyBlocked', mode: event.mode, host, address });

    const inflight = this.#pending.get(address);
    if (inflight) {
      if ((await inflight) !== 'failed') alreadyBlocked();
      return;
    }
    const decision = this.#respondOnce(event, host, ports);
    this.#pending.set(address, decision);
    try {
      if ((await decision) === 'already') alreadyBlocked();
    } finally {
      this.#pending.delete(address);
    }
  }

  async #respondOnce(event: ProbeEvent, host: string, ports: number[]): Promise<Outcome> {
    if (this.#keeper?.has(event.source)) return 'already';
    for (const file of this.#blockedFiles.values()) {
      if (await file.has(event.source)) return 'already';
    }
    if (!this.#mayBlock(event)) return 'failed';
    const request = {
      address: event.source,
      host,
      port: event.port,
      mode: event.mode,
      protocol: protocolOf(event.mode),
      ports,
      scanType: scanTypeOf(event),
      seconds: this.settings.blockTime > 0 ? this.settings.blockTime : null,
    };
    const outcome = this.#keeper ? await this.#keeper.ban(request) : await this.#responder.respond(request);
    if (!outcome.ok) {
      this.counters.failedResponses++;
      return 'failed';
    }
    this.counters.blocks++;
    const line = formatHistoryLine({
      time: new Date(event.time),
      host,
      address: event.source,
      port: event.port,
      protocol: event.protocol,
    });
    await this.#record(this.settings.historyFile, () =>
      appendLine(this.settings.historyFile, line, HISTORY_MODE),
    );
    const blocked = this.#blockedFiles.get(event.mode);
    if (blocked) await this.#record(blocked.path, () => blocked.append(line, event.source));
    return 'blocked';
  }

  /** The cap on new blocks; log-only settings (BLOCK_x=0) are never capped. */
  #mayBlock(event: ProbeEvent): boolean {
    const level = event.protocol === 'tcp' ? this.settings.blockTcp : this.settings.blockUdp;
    if (level === 0) return true;
    const decision = this.#blockRate.take(Date.now());
    const limit = this.#blockRate.limit;
    if (decision.allowed) {
      if (decision.report)
        this.#deps.log.log({ kind: 'blockCapSummary', limit, suppressed: decision.report.suppressed });
      return true;
    }
    this.counters.blocksCapped++;
    if (decision.report) this.#deps.log.log({ kind: 'blockCapReached', limit });
    return false;
  }

  async #record(path: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      this.#deps.log.log({ kind: 'fileWriteFailed', path, reason: describeError(err) });
    }
  }

  /** Every counter of the daemon and its sensors, flat (`capture.probes`, `alerts`, ...). */
  allCounters(): Record<string, number> {
    const all: Record<string, number> = { ...this.counters, pendingResponses: this.#pending.size };
    for (const sensor of this.#sensors) {
      for (const [key, value] of Object.entries(sensor.counters())) all[`${sensor.name}.${key}`] = value;
    }
    return all;
  }

  /** SIGUSR1: logs the counters. */
  logCounters(): void {
    this.#deps.log.log({ kind: 'counters', counters: this.allCounters() });
  }

  /** SIGHUP: re-reads config, ignore file and host addresses; the traps stay open. */
  async reload(): Promise<void> {
    const { log } = this.#deps;
    let next: Awaited<ReturnType<DaemonDeps['reload']>>;
    try {
      next = await this.#deps.reload();
    } catch (err) {
      log.log({ kind: 'reloadFailed', reason: describeError(err) });
      return;
    }
    const diagnostics = [...next.loaded.diagnostics, ...next.ignore.diagnostics];
    logDiagnostics(log, diagnostics);
    if (diagnostics.some((d) => d.severity === 'error')) {
      log.log({ kind: 'reloadFailed', reason: 'the configuration has errors (see above)' });
      return;
    }
    const before = this.settings;
    const after = next.loaded.settings;
    // Keep what only a restart can change (and say so); take everything else.
    const reloaded = applyReload(before, after);
    for (const key of reloaded.changed) log.log({ kind: 'reloadNeedsRestart', key });
    this.#loaded = { ...next.loaded, settings: reloaded.settings };
    this.#ignore = next.ignore;
    this.#refreshAddresses(true);
    const lists = detectorLists(this.#ignore, this.#addresses, this.#guarded);
    if (after.maxBlocksPerMinute !== before.maxBlocksPerMinute)
      this.#blockRate = new BlockRate(after.maxBlocksPerMinute);
    log.log({
      kind: 'reloaded',
      configPath: next.loaded.path ?? '(built-in defaults)',
      ignoreEntries: next.ignore.entries.length,
      localAddresses: lists.own.size,
    });
  }

  /** Closes the traps, lets running responses finish (bounded), logs 1.2's shutdown pair. */
  async stop(): Promise<void> {
    await this.#control?.close();
    this.#control = null;
    for (const sensor of this.#sensors) await sensor.close();
    this.#sensors = [];
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
    this.#watchdog?.stop();
    await Promise.race([
      Promise.allSettled([...this.#inflight]),
      new Promise((r) => setTimeout(r, 5000).unref()),
    ]);
    await this.#store?.close().catch((err: unknown) =>
      this.#deps.log.log({
        kind: 'banStoreProblem',
        dir: StateNames.bans,
        text: `close: ${describeError(err)}`,
      }),
    );
    if (this.#pidFile) await rm(this.#pidFile, { force: true });
    this.#deps.log.log({ kind: 'shuttingDownSecurity' });
    this.#deps.log.log({ kind: 'shuttingDownAdmin' });
  }
}
