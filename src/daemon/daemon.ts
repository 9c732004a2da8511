/**
 * @module daemon/daemon
 * The running daemon's lifecycle, and nothing else: it starts the services of an assembled stack
 * in order (daemon/services), stops them in reverse, and passes SIGHUP (reload) and SIGUSR1
 * (counters) on, with 1.2's startup and shutdown lines around them. What a probe leads to is the
 * alert path's (decide/), what is said and recorded is the reporter's (report/), how the stack is
 * put together is daemon/assemble's.
 */
import type { IgnoreFile } from '../config/ignore-file.ts';
import { applyReload, type LoadedSettings, type Settings } from '../config/settings.ts';
import type { Mode } from '../detect/probe.ts';
import { describeError } from '../errors.ts';
import { logDiagnostics } from '../report/config-problems.ts';
import type { BanKeeper } from '../respond/ban-keeper.ts';
import type { Ban } from '../state/ban-store.ts';
import { PORTSENTRY_COMPAT_VERSION } from '../version.ts';
import { statePaths } from '../state/state-dir.ts';
import { AlertMailer } from './alert-mail.ts';
import type { ControlTarget } from './control-handler.ts';
import { DEFAULT_TIMINGS, type HousekeepingTimings } from './housekeeping.ts';
import type { Service } from './service.ts';
import { daemonServices } from './services.ts';
import type { Stack } from './stack.ts';
import type { TrapSummary } from '../sensors/sensor.ts';

export interface DaemonDeps {
  /** Open the control socket in STATE_DIR (default true). */
  control?: boolean;
  /** Housekeeping periods (tests shorten them). */
  timings?: Partial<HousekeepingTimings>;
  /** Reads config and ignore file again (SIGHUP). */
  reload: () => Promise<{ loaded: LoadedSettings; ignore: IgnoreFile }>;
  /** The immediate alert mail (tests give one with their own clock and sender). */
  alertMail?: AlertMailer;
}

export class Daemon implements ControlTarget {
  readonly stack: Stack;
  readonly #deps: DaemonDeps;
  readonly #services: Service[];
  /** Services whose start was attempted, in order (stopped in reverse). */
  readonly #begun: Service[] = [];
  readonly #alertMail: AlertMailer;

  constructor(stack: Stack, deps: DaemonDeps) {
    this.stack = stack;
    this.#deps = deps;
    this.#alertMail =
      deps.alertMail ??
      new AlertMailer({
        settings: () => stack.settings,
        log: stack.reporter,
        path: statePaths(stack.settings.stateDir).alertMail,
      });
    this.#services = daemonServices(stack, {
      timings: { ...DEFAULT_TIMINGS, ...deps.timings },
      control: deps.control !== false,
      target: this,
      alertMail: this.#alertMail,
    });
  }

  get modes(): readonly Mode[] {
    return this.stack.modes;
  }

  get settings(): Settings {
    return this.stack.settings;
  }

  get backendDescription(): string {
    return this.stack.bans.backend.description;
  }

  /** The bans (null before start() opened the store). */
  get bans(): BanKeeper | null {
    return this.stack.bans.keeper;
  }

  traps(): TrapSummary[] {
    return this.stack.traps();
  }

  allCounters(): Record<string, number> {
    return { ...this.stack.allCounters(), ...this.#alertMail.counters() };
  }

  manualBlock(address: string, seconds: number | null): Promise<{ ban: Ban; already: boolean }> {
    return this.stack.manualBlock(address, seconds);
  }

  /** Starts every service in order and logs 1.2's startup lines. Throws (after logging why) when one cannot start. */
  async start(): Promise<void> {
    const log = this.stack.reporter;
    log.log({ kind: 'starting', version: PORTSENTRY_COMPAT_VERSION });
    for (const service of this.#services) {
      this.#begun.push(service);
      await service.start();
    }
    log.log({ kind: 'active' });
  }

  /** Stops what was started, in reverse (responses under way get a bounded wait), then 1.2's shutdown pair. */
  async stop(): Promise<void> {
    for (const service of this.#begun.splice(0).reverse()) await service.stop();
    this.stack.reporter.notify();
    this.stack.reporter.log({ kind: 'shuttingDownSecurity' });
    this.stack.reporter.log({ kind: 'shuttingDownAdmin' });
  }

  /** SIGUSR1: logs the counters. */
  logCounters(): void {
    this.stack.reporter.log({ kind: 'counters', counters: this.allCounters() });
  }

  /** SIGHUP: re-reads config, ignore file and host addresses; the traps stay open. */
  async reload(): Promise<void> {
    const log = this.stack.reporter;
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
    // Keep what only a restart can change (and say so); take everything else.
    const reloaded = applyReload(this.settings, next.loaded.settings);
    for (const key of reloaded.changed) log.log({ kind: 'reloadNeedsRestart', key });
    this.stack.reconfigure(reloaded.settings, next.ignore);
    for (const service of this.#services) await service.reload?.();
    log.log({
      kind: 'reloaded',
      configPath: next.loaded.path ?? '(built-in defaults)',
      ignoreEntries: next.ignore.entries.length,
      localAddresses: this.stack.neverBlock.lists().own.size,
    });
    // A banned host now on a never-block list (the ignore file, say) is unblocked at once.
    await this.stack.liftNeverBlocked();
  }
}
