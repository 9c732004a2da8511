import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefusalLog } from './refusals.ts';

test('a refusal is said once per source per interval', () => {
  const log = new RefusalLog(600);
  assert.equal(log.shouldLog('192.0.2.1', 0), true);
  assert.equal(log.shouldLog('192.0.2.1', 599_999), false);
  assert.equal(log.shouldLog('192.0.2.2', 1000), true);
  assert.equal(log.shouldLog('192.0.2.1', 600_000), true);
  assert.equal(log.shouldLog('192.0.2.1', 600_001), false);
});

test('a flood of forged sources cannot grow the table without bound', () => {
  const log = new RefusalLog(600);
  let said = 0;
  for (let i = 0; i < 100_000; i++) if (log.shouldLog(`198.18.${i >> 8}.${i & 255}-${i}`, i)) said++;
  assert.equal(said, 100_000);
  // The newest are remembered; the oldest were forgotten first.
  assert.equal(
    log.shouldLog('198.18.1.255-99999'.replace('1.255', `${99_999 >> 8}.${99_999 & 255}`), 100_000),
    false,
  );
  assert.equal(log.shouldLog('198.18.0.0-0', 100_000), true);
});
