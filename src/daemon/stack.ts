/**
 * @module daemon/stack
 * The assembled pipeline (daemon/assemble builds it): never-block lists, detector, alert path, ban
 * keeper and backends, reporter, and the sensors once made. Answers what the daemon and the control
 * socket ask of the whole (counters, traps, manual blocks) and follows a reload or a change of the
 * host's addresses. It starts and stops nothing: that is the daemon's services' work.
 */
import type { IgnoreFile } from '../config/ignore-file.ts';
import type { Settings } from '../config/settings.ts';
import type { Detector, TriggerSettings } from '../detect/detector.ts';
import type { Mode } from '../detect/probe.ts';
import { ErrorCodes, PortsnareError } from '../errors.ts';
import type { AlertPath } from '../decide/alert-path.ts';
import type { NeverBlock } from '../decide/never-block.ts';
import type { Reporter } from '../report/reporter.ts';
import type { MemoryRecordsSink } from '../report/sinks/memory-records-sink.ts';
import type { Ban } from '../state/ban-store.ts';
import type { Bans } from './bans.ts';
import type { DryRun } from './dry-run.ts';
import type { Sensor, SensorContext, TrapSummary } from '../sensors/sensor.ts';

/** Builds the sensors of a set of modes (tests substitute their own). */
export type SensorFactory = (modes: readonly Mode[], ctx: SensorContext) => Sensor[];

export function triggerSettings(settings: Settings): TriggerSettings {
  return {
    scanTrigger: settings.scanTrigger,
    stealthPorts: settings.stealthTriggerPorts,
    stealthWindowMs: settings.stealthTriggerWindow * 1000,
    maxTrackedSources: settings.maxTrackedSources,
    scanDetector: settings.scanDetector,
    sequential: {
      falseAlarmsPerMinute: settings.sequentialFalseAlarms / 60,
      idleRatePerSecond: settings.sequentialIdleRate / 3600,
      idleThreshold: settings.sequentialIdleThreshold,
      budgetPerMinute: settings.maxBlocksPerMinute,
    },
  };
}

export interface StackParts {
  modes: readonly Mode[];
  /** The settings every part reads (a reload replaces the value). */
  settings: { value: Settings };
  reporter: Reporter;
  neverBlock: NeverBlock;
  detector: Detector;
  alerts: AlertPath;
  bans: Bans;
  /** The dry run's history and blocked files (null when they are real files, or none). */
  records: MemoryRecordsSink | null;
  dryRun: DryRun | null;
  sensorFactory: SensorFactory;
  /** Told of each new ban once it is in force (what the ban keeper's onBanned calls). */
  banListeners?: Set<(ban: Ban) => void>;
}

export class Stack {
  readonly modes: readonly Mode[];
  readonly reporter: Reporter;
  readonly neverBlock: NeverBlock;
  readonly detector: Detector;
  readonly alerts: AlertPath;
  readonly bans: Bans;
  readonly records: MemoryRecordsSink | null;
  readonly dryRun: DryRun | null;
  readonly #sensorFactory: SensorFactory;
  readonly #settings: { value: Settings };
  #sensors: Sensor[] = [];
  readonly #banListeners: Set<(ban: Ban) => void>;

  constructor(parts: StackParts) {
    this.modes = parts.modes;
    this.reporter = parts.reporter;
    this.neverBlock = parts.neverBlock;
    this.detector = parts.detector;
    this.alerts = parts.alerts;
    this.bans = parts.bans;
    this.records = parts.records;
    this.dryRun = parts.dryRun;
    this.#sensorFactory = parts.sensorFactory;
    this.#settings = parts.settings;
    this.#banListeners = parts.banListeners ?? new Set();
  }

  /** Hears of each new ban once it is in force (synchronously: it must not wait); returns the unsubscribe. */
  onBanned(listener: (ban: Ban) => void): () => void {
    this.#banListeners.add(listener);
    return () => this.#banListeners.delete(listener);
  }

  get settings(): Settings {
    return this.#settings.value;
  }

  get sensors(): readonly Sensor[] {
    return this.#sensors;
  }

  /** Makes the sensors of the stack's modes, wired to the alert path (not started). */
  makeSensors(): Sensor[] {
    const ctx: SensorContext = {
      log: this.reporter,
      settings: () => this.settings,
      onProbe: (event, confirm) => this.alerts.onProbe(event, confirm),
      onPacketProbe: (probe, confirm) => this.alerts.onPacketProbe(probe, confirm),
      localAddresses: () => this.neverBlock.addresses,
    };
    this.#sensors = this.#sensorFactory(this.modes, ctx);
    return this.#sensors;
  }

  /** The sensors are closed. */
  dropSensors(): void {
    this.#sensors = [];
  }

  /**
   * Re-reads the host's addresses, gateways and resolvers; when they changed (or `force`: SIGHUP)
   * the sensors and the detector follow. Returns whether they changed.
   */
  refreshAddresses(force: boolean): boolean {
    const changed = this.neverBlock.reread();
    if (!changed && !force) return false;
    for (const sensor of this.#sensors) sensor.addressesChanged?.(this.neverBlock.addresses);
    this.detector.reconfigure(this.neverBlock.lists(), triggerSettings(this.settings));
    if (changed && !force) {
      this.reporter.log({
        kind: 'addressesChanged',
        own: this.neverBlock.addresses.length,
        protectedHosts: this.neverBlock.guarded.length,
      });
    }
    return changed;
  }

  /**
   * A reload's settings and ignore file (restart-only keys already kept by the caller). The
   * detector takes them at the next refreshAddresses (the daemon's housekeeping forces one).
   */
  reconfigure(settings: Settings, ignore: IgnoreFile): void {
    this.#settings.value = settings;
    this.neverBlock.ignore = ignore;
    this.alerts.setBlockLimit(settings.maxBlocksPerMinute);
  }

  /** Why the daemon must never block this address, or null. */
  neverBlockReason(address: string): string | null {
    const verdict = this.detector.listed(address);
    return verdict === null ? null : this.neverBlock.reason(address, verdict);
  }

  /**
   * Lifts the bans of addresses that became never-block addresses (a host added to the ignore file
   * and a SIGHUP, a new own address, gateway or resolver), with a line each saying why. Returns how
   * many were lifted.
   */
  async liftNeverBlocked(): Promise<number> {
    const keeper = this.bans.keeper;
    if (!keeper) return 0;
    const refusals = keeper.refusals((address) => this.neverBlockReason(address));
    if (refusals.length === 0) return 0;
    return (await keeper.liftRefused(refusals, 'reload')).length;
  }

  /** `portsnare block ADDR [--for D]`: blocks by hand (not capped), recorded like any ban. */
  async manualBlock(address: string, seconds: number | null): Promise<{ ban: Ban; already: boolean }> {
    const keeper = this.bans.keeper;
    if (!keeper) throw new PortsnareError(ErrorCodes.STARTING, 'the daemon is still starting');
    const refusal = this.neverBlockReason(address);
    if (refusal !== null)
      throw new PortsnareError(ErrorCodes.INVALID_ADDRESS, `refusing to block ${address}: ${refusal}`);
    return keeper.banByHand(
      address,
      seconds ?? (this.settings.blockTime > 0 ? this.settings.blockTime : null),
    );
  }

  /** Every counter of the alert path, the sensors and the log's sinks, flat (`capture.probes`, `alerts`, `syslog.dropped`, ...). */
  allCounters(): Record<string, number> {
    const all: Record<string, number> = {
      ...this.alerts.counters,
      pendingResponses: this.alerts.pendingResponses,
      trackedSources: this.detector.table().tracked,
    };
    for (const sensor of this.#sensors) {
      for (const [key, value] of Object.entries(sensor.counters())) all[`${sensor.name}.${key}`] = value;
    }
    return { ...all, ...this.reporter.counters() };
  }

  /** What every sensor watches. */
  traps(): TrapSummary[] {
    return this.#sensors.flatMap((s) => s.traps());
  }
}
