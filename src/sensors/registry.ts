/**
 * @module sensors/registry
 * Which sensor watches which modes: one entry per sensor module, each a factory against the one
 * `Sensor` interface (classic `-tcp` traps, classic `-udp` traps, and one packet capture for all
 * stealth and advanced modes). A new sensor is a new module and a new entry here.
 */
import type { Mode } from '../detect/probe.ts';
import { ClassicTcpSensor, ClassicUdpSensor } from './classic.ts';
import { PacketSensor } from './packet.ts';
import type { Sensor, SensorContext } from './sensor.ts';

export interface SensorEntry {
  /** The modes this sensor serves; it is built once if any of them is asked for. */
  modes: readonly Mode[];
  /** Builds the sensor for the asked modes it serves (in the order they were asked). */
  create(ctx: SensorContext, modes: readonly Mode[]): Sensor;
}

export const SENSORS: readonly SensorEntry[] = [
  { modes: ['tcp'], create: (ctx) => new ClassicTcpSensor(ctx) },
  { modes: ['udp'], create: (ctx) => new ClassicUdpSensor(ctx) },
  { modes: ['stcp', 'sudp', 'atcp', 'audp'], create: (ctx, modes) => new PacketSensor(ctx, modes) },
];

/** The sensors of a set of modes, in registry order (what the daemon starts). */
export function sensorsFor(
  modes: readonly Mode[],
  ctx: SensorContext,
  registry: readonly SensorEntry[] = SENSORS,
): Sensor[] {
  return registry.flatMap((entry) => {
    const served = modes.filter((m) => entry.modes.includes(m));
    return served.length > 0 ? [entry.create(ctx, served)] : [];
  });
}
