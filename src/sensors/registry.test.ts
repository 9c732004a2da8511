import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_MODES, type Mode } from '../detect/probe.ts';
import { SENSORS, sensorsFor } from './registry.ts';
import type { Sensor, SensorContext } from './sensor.ts';

const ctx = {} as SensorContext;

test('every mode has exactly one sensor', () => {
  for (const mode of ALL_MODES) {
    assert.equal(SENSORS.filter((e) => e.modes.includes(mode)).length, 1, mode);
  }
});

test('classic modes get their traps, all packet modes share one capture', () => {
  const names = (modes: Mode[]) => sensorsFor(modes, ctx).map((s) => s.name);
  assert.deepEqual(names(['tcp']), ['tcp']);
  assert.deepEqual(names(['udp', 'tcp']), ['tcp', 'udp']);
  assert.deepEqual(names(['stcp', 'audp']), ['capture']);
  assert.deepEqual(names(['atcp', 'udp', 'sudp', 'tcp']), ['tcp', 'udp', 'capture']);
  assert.deepEqual(names([]), []);
});

test('a sensor is built with the asked modes it serves, in the order asked', () => {
  const asked: (readonly Mode[])[] = [];
  const fake = (name: string) => (_ctx: SensorContext, modes: readonly Mode[]) => {
    asked.push(modes);
    return { name } as Sensor;
  };
  const registry = [
    { modes: ['tcp'] as const, create: fake('a') },
    { modes: ['audp', 'stcp'] as const, create: fake('b') },
  ];
  assert.deepEqual(
    sensorsFor(['stcp', 'udp', 'audp'], ctx, registry).map((s) => s.name),
    ['b'],
  );
  assert.deepEqual(asked, [['stcp', 'audp']]);
});
