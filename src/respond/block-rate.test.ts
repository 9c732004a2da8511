import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockRate } from './block-rate.ts';

test('at most `limit` blocks per window; the refusal is reported once, the count at the next window', () => {
  const rate = new BlockRate(2, 60_000);
  assert.deepEqual(rate.take(0), { allowed: true, report: null });
  assert.deepEqual(rate.take(1), { allowed: true, report: null });
  assert.deepEqual(rate.take(2), { allowed: false, report: { firstOfWindow: true } });
  for (let i = 3; i < 1000; i++) assert.deepEqual(rate.take(i), { allowed: false, report: null });
  assert.deepEqual(rate.take(60_000), { allowed: true, report: { suppressed: 998 } });
  assert.deepEqual(rate.take(60_001), { allowed: true, report: null });
});

test('0 means no cap', () => {
  const rate = new BlockRate(0);
  for (let i = 0; i < 10_000; i++) assert.equal(rate.take(i).allowed, true);
});
