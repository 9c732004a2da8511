// watchTable with a fake responder: restores the table and the bans when it is gone, reports errors,
// stops for good.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NftBan } from './script.ts';
import { watchTable } from './watchdog.ts';

async function waitFor(done: () => boolean, { timeoutMs, what }: { timeoutMs: number; what: string }) {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

void test('watchTable restores table and bans when the table is gone, and reports errors', async () => {
  const answers: (boolean | Error)[] = [true, false, new Error('nft broke')]; // then true for ever
  const log: string[] = [];
  const errors: unknown[] = [];
  const bans: NftBan[] = [{ address: '10.9.0.1', timeoutSeconds: 30 }, { address: '2001:db8::1' }];
  const responder = {
    isPresent: () => {
      log.push('check');
      const next = answers.shift() ?? true;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    ensureTable: () => (log.push('ensureTable'), Promise.resolve()),
    block: (b: NftBan[]) => (log.push(`block ${b.length}`), Promise.resolve()),
  };
  const restored: number[] = [];
  const watch = watchTable(responder, {
    intervalMs: 5,
    currentBans: () => bans,
    onRestored: (n) => restored.push(n),
    onError: (err) => errors.push(err),
  });
  await waitFor(() => errors.length > 0, { timeoutMs: 2000, what: 'the failing check' });
  watch.stop();
  const settled = log.length;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(log.length, settled, 'no check after stop()');
  assert.deepEqual(log.slice(0, 5), ['check', 'check', 'ensureTable', 'block 2', 'check']);
  assert.ok(log.slice(5).every((entry) => entry === 'check'));
  assert.deepEqual(restored, [2]);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /nft broke/);
});
