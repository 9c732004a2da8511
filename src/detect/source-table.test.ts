import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SourceTable, WAYS } from './source-table.ts';

const key = (i: number) => Uint32Array.of(0x20010db8, 0, i >>> 16, i & 0xffff);

test('a source keeps its slot; a new one gets a fresh one', () => {
  const table = new SourceTable(1000);
  assert.ok(table.slots >= 1000 && table.slots % WAYS === 0);
  const a = table.lookup(key(1), 10);
  assert.equal(table.created, true);
  const b = table.lookup(key(2), 11);
  assert.notEqual(a, b);
  assert.equal(table.lookup(key(1), 12), a);
  assert.equal(table.created, false);
  assert.equal(table.previousSeen, 10);
  assert.equal(table.size, 2);
});

test('sized for N sources it holds nearly all of N distinct ones, and never more slots than it has', () => {
  const n = 100_000;
  const table = new SourceTable(n);
  for (let i = 0; i < n; i++) table.lookup(key(i), 1 + i);
  assert.ok(table.size >= n * 0.997, `held ${table.size} of ${n}`);
  // Each source is found again in the slot it got (none was pushed out by a later one).
  let found = 0;
  for (let i = n - 1000; i < n; i++) {
    table.lookup(key(i), 2 * n);
    if (!table.created) found++;
  }
  assert.equal(found, 1000);
  for (let i = n; i < 3 * n; i++) table.lookup(key(i), 1 + i);
  assert.equal(table.size, table.slots);
});

test('a flood of new sources replaces the sources seen longest ago, not one active now', () => {
  const table = new SourceTable(4096);
  const scanner = Uint32Array.of(0, 0, 0xffff, 0xcb007109);
  let stamp = 1;
  const slot = table.lookup(scanner, stamp);
  for (let i = 0; i < 200_000; i++) {
    table.lookup(key(i), ++stamp);
    // The scanner probes once every 1,000 new sources: a quarter of the table's size.
    if (i % 1000 === 0) assert.equal(table.lookup(scanner, ++stamp), slot, `lost at ${i}`);
  }
});

test('two tables place the same sources differently (the hash is seeded at start)', () => {
  const a = new SourceTable(1 << 16);
  const b = new SourceTable(1 << 16);
  let same = 0;
  for (let i = 0; i < 64; i++) if (a.lookup(key(i), 1) === b.lookup(key(i), 1)) same++;
  assert.ok(same < 8, `${same} of 64 in the same slot`);
});
