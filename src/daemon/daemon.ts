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
import { protocolOf, type Mode, type ProbeEvent, type Protocol } from '../detect/probe.ts';
import { describeError } from '../errors.ts';
import { CidrSet } from '../net/cidr-set.ts';
import { hostAddresses, ownAddressSet } from '../net/host-addresses.ts';
import type { AlertLog } from '../report/alert-log.ts';
import { appendLine, BlockedFile, ensureParentDirectory, formatHistoryLine } from '../report/history.ts';
import { ClassicResponder } from '../respond/classic-responder.ts';
import type { CommandRunner } from '../respond/exec.ts';
import type { HostsDenyOutcome } from '../respond/hosts-deny.ts';
import { openTcpTraps, type TcpTrapSet } from '../sensors/tcp-traps.ts';
import { openUdpTraps, type UdpTrapSet } from '../sensors/udp-traps.ts';
import { PORTSENTRY_COMPAT_VERSION } from '../version.ts';
import { Resolver } from './resolver.ts';

export interface DaemonDeps {
  log: AlertLog;
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
}

type Outcome = 'blocked' | 'already' | 'failed';

const HISTORY_MODE = 0o600;

export function logDiagnostics(log: AlertLog, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) {
    log.log({ kind: 'configProblem', severity: d.severity, where: diagnosticWhere(d), text: d.message });
  }
}

function detectorLists(ignore: IgnoreFile): DetectorLists {
  const set = new CidrSet();
  for (const entry of ignore.entries) set.add(entry.cidr);
  return { ignore: set, own: ownAddressSet(hostAddresses()) };
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
  };
  #loaded: LoadedSettings;
  readonly #deps: DaemonDeps;
  readonly #detector: Detector;
  readonly #responder: ClassicResponder;
  readonly #resolver: Resolver;
  readonly #blockedFiles = new Map<Mode, BlockedFile>();
  readonly #pending = new Map<string, Promise<Outcome>>();
  readonly #inflight = new Set<Promise<void>>();
  #tcpTraps: TcpTrapSet | null = null;
  #udpTraps: UdpTrapSet | null = null;
  #pidFile: string | null = null;

  constructor(modes: readonly Mode[], loaded: LoadedSettings, ignore: IgnoreFile, deps: DaemonDeps) {
    this.modes = modes;
    this.#loaded = loaded;
    this.#deps = deps;
    this.#detector = new Detector(detectorLists(ignore), loaded.settings.scanTrigger);
    this.#resolver = deps.resolver ?? new Resolver();
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

    if (this.modes.includes('tcp')) this.#openTcp(settings);
    if (this.modes.includes('udp')) await this.#openUdp(settings);

    this.#pidFile = join(settings.stateDir, 'portsnare.pid');
    await writeFile(this.#pidFile, `${process.pid}\n`, { mode: 0o644 });
    log.log({ kind: 'active' });
  }

  #openTcp(settings: Settings): void {
    if (settings.tcpPorts.length === 0) {
      this.#deps.log.log({ kind: 'noPorts', protocol: 'tcp' });
      throw new Error('no TCP ports');
    }
    const traps = openTcpTraps({
      ports: settings.tcpPorts,
      families: [4, 6],
      onHit: (hit) =>
        this.#onHit({ mode: 'tcp', protocol: 'tcp', source: hit.source, port: hit.port, time: Date.now() }),
      onAcceptError: (port) => this.#deps.log.log({ kind: 'acceptFailed', port }),
    });
    this.#tcpTraps = traps;
    this.#logBinds('tcp', settings.tcpPorts, traps.bound, traps.failed);
  }

  async #openUdp(settings: Settings): Promise<void> {
    if (settings.udpPorts.length === 0) {
      this.#deps.log.log({ kind: 'noPorts', protocol: 'udp' });
      throw new Error('no UDP ports');
    }
    const traps = await openUdpTraps({
      ports: settings.udpPorts,
      families: [4, 6],
      onHit: (hit) =>
        this.#onHit({ mode: 'udp', protocol: 'udp', source: hit.source, port: hit.port, time: Date.now() }),
      onError: (port, _family, err) =>
        this.#deps.log.log({ kind: 'sensorError', protocol: 'udp', port, reason: describeError(err) }),
    });
    this.#udpTraps = traps;
    this.#logBinds('udp', settings.udpPorts, traps.bound, traps.failed);
  }

  /** 1.2's per-port listen/bind-failure lines, with the real port numbers; IPv6 problems said once. */
  #logBinds(
    protocol: Protocol,
    ports: readonly number[],
    bound: readonly { port: number; family: 4 | 6 }[],
    failed: readonly { port: number; family: 4 | 6; code: string }[],
  ): void {
    const { log } = this.#deps;
    const v6Unavailable = failed.filter(
      (f) => f.family === 6 && (f.code === 'EAFNOSUPPORT' || f.code === 'EADDRNOTAVAIL'),
    );
    const ipv6Missing = v6Unavailable.length === ports.length;
    if (ipv6Missing)
      log.log({ kind: 'ipv6Unavailable', protocol, reason: v6Unavailable[0]?.code ?? 'unknown' });
    for (const port of ports) {
      const ok = bound.filter((b) => b.port === port);
      const bad = failed.filter((f) => f.port === port && !(ipv6Missing && f.family === 6));
      if (ok.length === 0) {
        log.log({ kind: 'bindFailed', protocol, port });
        continue;
      }
      log.log({ kind: 'listen', protocol, port });
      for (const f of bad)
        log.log({ kind: 'bindFailedFamily', protocol, family: f.family, port, reason: f.code });
    }
    if (bound.length === 0) {
      log.log({ kind: 'bindNone', protocol });
      throw new Error(`could not bind any ${protocol.toUpperCase()} port`);
    }
  }

  /** A sensor's hit: judged synchronously; returns the banner to send (classic modes) or null. */
  #onHit(event: ProbeEvent): Buffer | null {
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
    this.counters.alerts++;
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
    log.log({ kind: 'connect', protocol: event.protocol, host, address: event.source, port: event.port });

    const inflight = this.#pending.get(event.source);
    if (inflight) {
      if ((await inflight) !== 'failed') log.log({ kind: 'alreadyBlockedClassic', address: event.source });
      return;
    }
    const decision = this.#respondOnce(event, host);
    this.#pending.set(event.source, decision);
    try {
      if ((await decision) === 'already') log.log({ kind: 'alreadyBlockedClassic', address: event.source });
    } finally {
      this.#pending.delete(event.source);
    }
  }

  async #respondOnce(event: ProbeEvent, host: string): Promise<Outcome> {
    for (const file of this.#blockedFiles.values()) {
      if (await file.has(event.source)) return 'already';
    }
    const outcome = await this.#responder.respond({
      address: event.source,
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

  async #record(path: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      this.#deps.log.log({ kind: 'fileWriteFailed', path, reason: describeError(err) });
    }
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
      },
    };
    const lists = detectorLists(next.ignore);
    this.#detector.reconfigure(lists, after.scanTrigger);
    log.log({
      kind: 'reloaded',
      configPath: next.loaded.path ?? '(built-in defaults)',
      ignoreEntries: next.ignore.entries.length,
      localAddresses: lists.own.size,
    });
  }

  /** Closes the traps, lets running responses finish (bounded), logs 1.2's shutdown pair. */
  async stop(): Promise<void> {
    this.#tcpTraps?.close();
    this.#tcpTraps = null;
    await this.#udpTraps?.close();
    this.#udpTraps = null;
    await Promise.race([
      Promise.allSettled([...this.#inflight]),
      new Promise((r) => setTimeout(r, 5000).unref()),
    ]);
    if (this.#pidFile) await rm(this.#pidFile, { force: true });
    this.#deps.log.log({ kind: 'shuttingDownSecurity' });
    this.#deps.log.log({ kind: 'shuttingDownAdmin' });
  }
}
