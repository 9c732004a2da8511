/**
 * @module sensors/sensor
 * What the daemon asks of a sensor: start (logging the mode's startup lines, throwing if the mode
 * cannot run), hand every probe to `onProbe`, follow the host's addresses, close.
 */
import type { Settings } from '../config/settings.ts';
import type { PacketProbe } from '../detect/packet-probe.ts';
import type { ProbeEvent } from '../detect/probe.ts';
import type { AlertLog } from '../report/alert-log.ts';

export interface SensorContext {
  log: AlertLog;
  settings: () => Settings;
  /**
   * Judges a probe; returns the banner for classic modes (or null). `confirm`, if given, is asked
   * once before an alert is acted on and may still call it off (a packet sensor re-checks the socket
   * table with a fresh read: cheap lookups for every packet, an exact one for the rare alert).
   */
  onProbe(event: ProbeEvent, confirm?: () => boolean): Buffer | null;
  /**
   * The capture's form of `onProbe`: a probe in numeric form, valid only during the call, so that
   * a flood makes no event per packet (decide/alert-path makes one when the verdict needs it).
   */
  onPacketProbe(probe: PacketProbe, confirm?: (event: ProbeEvent) => boolean): void;
  /** The host's own addresses right now. */
  localAddresses(): readonly string[];
}

export interface SensorCounters {
  [name: string]: number;
}

export interface TrapSummary {
  mode: string;
  /** Ports watched (classic: bound on at least one family; stealth: listed and free at start). */
  ports: number[] | null;
  /** Advanced modes: every free port below this, except `exclude`. */
  below?: number;
  exclude?: number[];
}

export interface Sensor {
  readonly name: string;
  start(): Promise<void>;
  /** The host's addresses changed (SIGHUP or an interface change). */
  addressesChanged?(addresses: readonly string[]): void;
  counters(): SensorCounters;
  /** What it watches, for `portsnare status`: one entry per mode. */
  traps(): TrapSummary[];
  close(): Promise<void>;
}
