import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr } from '../net/address.ts';
import { CidrSet } from '../net/cidr-set.ts';
import { Detector } from './detector.ts';
import type { ProbeEvent } from './probe.ts';
import { TriggerCounter } from './trigger.ts';

const probe = (source: string, port = 1): ProbeEvent => ({
  mode: 'tcp',
  protocol: 'tcp',
  source,
  port,
  time: 0,
});
const set = (...entries: string[]) => {
  const s = new CidrSet();
  for (const e of entries) {
    const parsed = parseCidr(e);
    if (parsed.ok) s.add(parsed.cidr);
  }
  return s;
};

test('SCAN_TRIGGER keeps 1.2 meaning: 0 and 1 fire on the first hit, 3 on the third', () => {
  for (const trigger of [0, 1]) assert.equal(new TriggerCounter(trigger).hit('192.0.2.1').fired, true);
  const counter = new TriggerCounter(3);
  assert.deepEqual(
    [1, 2, 3, 4].map(() => counter.hit('192.0.2.1').fired),
    [false, false, true, true],
  );
});

test('counts are per source and memory stays bounded', () => {
  const counter = new TriggerCounter(2, 1000);
  assert.equal(counter.hit('192.0.2.1').fired, false);
  for (let i = 0; i < 100_000; i++) counter.hit(`198.18.${(i >> 8) & 255}.${i & 255}-${i}`);
  assert.equal(counter.tracked, 1000);
  // The old entry was evicted (least recently used): a fresh count, unlike 1.2's ring it cannot be
  // used to keep a *recent* scanner under the trigger, because a recent scanner is the most recently used.
  assert.equal(counter.hit('192.0.2.1').fired, false);
  assert.equal(counter.hit('192.0.2.1').fired, true);
});

test('a recently active source survives a flood of other sources', () => {
  const counter = new TriggerCounter(3, 100);
  counter.hit('192.0.2.9');
  for (let i = 0; i < 99; i++) counter.hit(`198.18.0.${i}`);
  assert.equal(counter.hit('192.0.2.9').count, 2);
});

test('own addresses and ignored sources are dropped before the trigger counts them', () => {
  const detector = new Detector(
    { ignore: set('10.231.0.0/24', '2001:db8:1::/64'), own: set('192.0.2.1', '127.0.0.0/8') },
    2,
  );
  assert.deepEqual(detector.judge(probe('10.231.0.5')), { kind: 'ignored', reason: 'ignore-list' });
  assert.deepEqual(detector.judge(probe('2001:db8:1::5')), { kind: 'ignored', reason: 'ignore-list' });
  assert.deepEqual(detector.judge(probe('192.0.2.1')), { kind: 'ignored', reason: 'own-address' });
  assert.deepEqual(detector.judge(probe('127.0.0.1')), { kind: 'ignored', reason: 'own-address' });
  assert.deepEqual(detector.judge(probe('203.0.113.5')), { kind: 'below-trigger', count: 1 });
  assert.deepEqual(detector.judge(probe('203.0.113.5', 2)), { kind: 'alert', count: 2 });
  assert.deepEqual(detector.judge(probe('2001:db8:2::5')), { kind: 'below-trigger', count: 1 });
});

test('reconfigure swaps the lists at once', () => {
  const detector = new Detector({ ignore: set(), own: set() }, 0);
  assert.equal(detector.judge(probe('203.0.113.5')).kind, 'alert');
  detector.reconfigure({ ignore: set('203.0.113.0/24'), own: set() }, 0);
  assert.equal(detector.judge(probe('203.0.113.5')).kind, 'ignored');
});
