/**
 * @module daemon/daemon
 * The running daemon: wires sensors (classic TCP and UDP traps) to the detector, the detector to the
 * responder, and records what happened in syslog and the history/blocked files. Owns the per-host
 * response state: one response in flight per host, later hits wait for its outcome.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { blockedFilePath, type LoadedSettings, type Settings } from '../config/settings.ts';
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
import { ClassicResponder } from '../respond/classic-responder.ts';
import type { CommandRunner } from '../respond/exec.ts';
import type { HostsDenyOutcome } from '../respond/hosts-deny.ts';
import { PORTSENTRY_COMPAT_VERSION } from '../version.ts';
import { ClassicTcpSensor, ClassicUdpSensor } from './classic-sensors.ts';
import { PacketSensor } from './packet-sensor.ts';
import { Resolver } from './resolver.ts';
import type { Sensor, SensorContext } from './sensor.ts';

export interface DaemonDeps {
  log: AlertLog;
  /** Builds the sensors for the modes (tests and replay substitute their own). */
  sensors?: (modes: readonly Mode[], ctx: SensorContext) => Sensor[];
  run: CommandRunner;
  addHostsDenyLine: (path: string, line: string) => Promise<HostsDenyOutcome>;
  resolver?: Resolver;
  /** Reads config and ignore file again (SIGHUP). */
  reload: () => Promise<{ loaded: LoadedSettings; ignore: IgnoreFile }>;
}

export interface DaemonCounters {
  hits: number;
  ignored: number;
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
function detectorLists(ignore: IgnoreFile, addresses: readonly string[]): DetectorLists {
  const set = new CidrSet();
  for (const entry of ignore.entries) set.add(entry.cidr);
  return { ignore: set, own: ownAddressSet([...addresses, ...protectedHosts()]) };
}

function triggerSettings(settings: Settings) {
  return {
    scanTrigger: settings.scanTrigger,
    stealthPorts: settings.stealthTriggerPorts,
    stealthWindowMs: settings.stealthTriggerWindow * 1000,
  };
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
  readonly #responder: ClassicResponder;
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
    this.#detector = new Detector(detectorLists(ignore, this.#addresses), triggerSettings(loaded.settings));
    this.#resolver = deps.resolver ?? new Resolver();
    this.#blockRate = new BlockRate(loaded.settings.maxBlocksPerMinute);
    this.#responder = new ClassicResponder({
      settings: () => this.settings,
      log: deps.log,
      run: deps.run,
      addHostsDenyLine: deps.addHostsDenyLine,
    });
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
      throw new Error(`cannot create the directory of ${settings.historyFile}`);
    }
    for (const mode of this.modes) {
      const file = new BlockedFile(blockedFilePath(settings, mode));
      try {
        await file.reset();
      } catch {
        log.log({ kind: 'blockedFileDeleteFailed', path: file.path });
        throw new Error(`cannot create or empty ${file.path}`);
      }
      this.#blockedFiles.set(mode, file);
    }

    const ctx: SensorContext = {
      log,
      settings: () => this.settings,
      onProbe: (event, confirm) => this.#onHit(event, confirm),
      localAddresses: () => this.#addresses,
    };
    this.#sensors = (this.#deps.sensors ?? defaultSensors)(this.modes, ctx);
    for (const sensor of this.#sensors) await sensor.start();

    this.#pidFile = join(settings.stateDir, 'portsnare.pid');
    await writeFile(this.#pidFile, `${process.pid}\n`, { mode: 0o644 });
    log.log({ kind: 'active' });
  }

  /** A sensor's hit: judged synchronously; returns the banner to send (classic modes) or null. */
  #onHit(event: ProbeEvent, confirm?: () => boolean): Buffer | null {
    this.counters.hits++;
    const verdict = this.#detector.judge(event);
    if (verdict.kind === 'ignored') {
      this.counters.ignored++;
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
    const task = this.#handleAlert(event).catch((err: unknown) =>
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

  async #handleAlert(event: ProbeEvent): Promise<void> {
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
    const decision = this.#respondOnce(event, host);
    this.#pending.set(address, decision);
    try {
      if ((await decision) === 'already') alreadyBlocked();
    } finally {
      this.#pending.delete(address);
    }
  }

  async #respondOnce(event: ProbeEvent, host: string): Promise<Outcome> {
    for (const file of this.#blockedFiles.values()) {
      if (await file.has(event.source)) return 'already';
    }
    if (!this.#mayBlock(event)) return 'failed';
    const outcome = await this.#responder.respond({
      address: event.source,
      host,
      port: event.port,
      mode: event.mode,
      protocol: protocolOf(event.mode),
    });
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
    const changed = (key: string, a: unknown, b: unknown) => {
      if (JSON.stringify(a) !== JSON.stringify(b)) log.log({ kind: 'reloadNeedsRestart', key });
    };
    changed('TCP_PORTS', before.tcpPorts, after.tcpPorts);
    changed('UDP_PORTS', before.udpPorts, after.udpPorts);
    changed('BLOCKED_FILE', before.blockedFile, after.blockedFile);
    changed('STATE_DIR', before.stateDir, after.stateDir);
    changed('SYSLOG_SOCKET', before.syslogSocket, after.syslogSocket);
    changed('SYSLOG_IDENT', before.syslogIdent, after.syslogIdent);
    changed('INTERFACE', before.interface, after.interface);
    changed('ADVANCED_PORTS_TCP', before.advancedPortsTcp, after.advancedPortsTcp);
    changed('ADVANCED_PORTS_UDP', before.advancedPortsUdp, after.advancedPortsUdp);
    changed('ADVANCED_EXCLUDE_TCP', before.advancedExcludeTcp, after.advancedExcludeTcp);
    changed('ADVANCED_EXCLUDE_UDP', before.advancedExcludeUdp, after.advancedExcludeUdp);
    // Keep what only a restart can change; take everything else.
    this.#loaded = {
      ...next.loaded,
      settings: {
        ...after,
        tcpPorts: before.tcpPorts,
        udpPorts: before.udpPorts,
        blockedFile: before.blockedFile,
        stateDir: before.stateDir,
        syslogSocket: before.syslogSocket,
        syslogIdent: before.syslogIdent,
        interface: before.interface,
        advancedPortsTcp: before.advancedPortsTcp,
        advancedPortsUdp: before.advancedPortsUdp,
        advancedExcludeTcp: before.advancedExcludeTcp,
        advancedExcludeUdp: before.advancedExcludeUdp,
      },
    };
    this.#addresses = hostAddresses();
    for (const sensor of this.#sensors) sensor.addressesChanged?.(this.#addresses);
    const lists = detectorLists(next.ignore, this.#addresses);
    this.#detector.reconfigure(lists, triggerSettings(after));
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
    for (const sensor of this.#sensors) await sensor.close();
    this.#sensors = [];
    await Promise.race([
      Promise.allSettled([...this.#inflight]),
      new Promise((r) => setTimeout(r, 5000).unref()),
    ]);
    if (this.#pidFile) await rm(this.#pidFile, { force: true });
    this.#deps.log.log({ kind: 'shuttingDownSecurity' });
    this.#deps.log.log({ kind: 'shuttingDownAdmin' });
  }
}
