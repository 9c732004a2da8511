// The alert mail's rate limit as arithmetic over a clock the test sets: one mail per interval
// whatever the flood, deferred blocks counted into the next mail, a failure not retried early, the
// state file's round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertRateLimit, formatAlertRateState, FRESH_STATE, parseAlertRateState } from './alert-rate.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 4, 20, 0, 0);

void test('the first block mails at once; blocks in the interval are deferred; the first after it mails with their count', () => {
  const limit = new AlertRateLimit();
  assert.deepEqual(limit.offer(T0, MIN), { kind: 'send', earlier: 0, since: null });
  assert.deepEqual(limit.offer(T0 + 1000, MIN), { kind: 'defer', first: true, until: T0 + MIN });
  assert.deepEqual(limit.offer(T0 + 2000, MIN), { kind: 'defer', first: false, until: T0 + MIN });
  assert.deepEqual(limit.offer(T0 + MIN - 1, MIN), { kind: 'defer', first: false, until: T0 + MIN });
  assert.deepEqual(limit.state, { lastMailAt: T0, deferred: 3, deferredSince: T0 + 1000 });
  assert.deepEqual(limit.offer(T0 + MIN, MIN), { kind: 'send', earlier: 3, since: T0 + 1000 });
  assert.deepEqual(limit.state, { lastMailAt: T0 + MIN, deferred: 0, deferredSince: null });
  // A new quiet interval: its first deferral is "first" again (one line per interval).
  assert.deepEqual(limit.offer(T0 + MIN + 5, MIN), { kind: 'defer', first: true, until: T0 + 2 * MIN });
});

void test('a flood of a million blocks in one hour sends exactly one mail per minute', () => {
  const limit = new AlertRateLimit();
  let sent = 0;
  let deferred = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const d = limit.offer(T0 + Math.floor((i * 3_600_000) / 1_000_000), MIN);
    if (d.kind === 'send') sent++;
    else deferred++;
  }
  assert.equal(sent, 60);
  assert.equal(deferred, 999_940);
});

void test('a mail under way defers the next block even after the interval (one delivery at a time)', () => {
  const limit = new AlertRateLimit();
  limit.offer(T0, MIN);
  assert.deepEqual(limit.offer(T0 + 2 * MIN, MIN, true), { kind: 'defer', first: true, until: T0 + 2 * MIN });
  assert.deepEqual(limit.offer(T0 + 2 * MIN + 1, MIN, false), {
    kind: 'send',
    earlier: 1,
    since: T0 + 2 * MIN,
  });
});

void test('a failed mail is not retried before the interval ends; its block and its carried count go with the next one', () => {
  const limit = new AlertRateLimit();
  limit.offer(T0, MIN);
  limit.offer(T0 + 10, MIN);
  limit.offer(T0 + 20, MIN);
  const d = limit.offer(T0 + MIN, MIN);
  assert.deepEqual(d, { kind: 'send', earlier: 2, since: T0 + 10 });
  limit.failed(T0 + MIN, 2, T0 + 10);
  assert.deepEqual(limit.state, { lastMailAt: T0 + MIN, deferred: 3, deferredSince: T0 + 10 });
  assert.equal(limit.offer(T0 + MIN + 1000, MIN).kind, 'defer');
  assert.deepEqual(limit.offer(T0 + 2 * MIN, MIN), { kind: 'send', earlier: 4, since: T0 + 10 });
});

void test('the interval read at each block: a longer REPORT_ALERT_INTERVAL after a reload extends the quiet time', () => {
  const limit = new AlertRateLimit();
  limit.offer(T0, MIN);
  assert.equal(limit.offer(T0 + 2 * MIN, 5 * MIN).kind, 'defer');
  assert.equal(limit.offer(T0 + 5 * MIN, 5 * MIN).kind, 'send');
});

void test('a stamp more than an interval in the future (clock set back) does not silence the mail', () => {
  const limit = new AlertRateLimit({ lastMailAt: T0 + 10 * MIN, deferred: 0, deferredSince: null });
  assert.equal(limit.offer(T0, MIN).kind, 'send');
  const near = new AlertRateLimit({ lastMailAt: T0 + 30_000, deferred: 0, deferredSince: null });
  assert.deepEqual(near.offer(T0, MIN), { kind: 'defer', first: true, until: T0 + 30_000 + MIN });
});

void test('the state file round-trips, and anything else is refused', () => {
  const state = { lastMailAt: T0, deferred: 7, deferredSince: T0 + 5 };
  const text = formatAlertRateState(state);
  assert.equal(text, `{"version":1,"lastMailAt":${T0},"deferred":7,"deferredSince":${T0 + 5}}\n`);
  assert.deepEqual(parseAlertRateState(text), state);
  assert.deepEqual(parseAlertRateState(formatAlertRateState(FRESH_STATE)), FRESH_STATE);
  for (const bad of [
    '',
    'null',
    '[]',
    '{"version":2,"lastMailAt":1,"deferred":0,"deferredSince":null}',
    '{"version":1,"lastMailAt":"1","deferred":0,"deferredSince":null}',
    '{"version":1,"lastMailAt":1,"deferred":-1,"deferredSince":null}',
    '{"version":1,"lastMailAt":1.5,"deferred":0,"deferredSince":null}',
    '{"version":1,"lastMailAt":1,"deferred":0}',
  ]) {
    assert.equal(parseAlertRateState(bad), null, bad);
  }
});
