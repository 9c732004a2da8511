import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LinePartition } from './classify.ts';
import { KeptLines } from './kept-lines.ts';
import { placeChunk, PLACE_SYSTEM } from './line-places.ts';
import { loadRuleTree } from './rules.ts';
import { prng } from '../../test/builders/fuzz.ts';

/** A partition with no rules: every line is a System Event. */
const everything = new LinePartition(loadRuleTree({ ruleDir: mkdtempSync(join(tmpdir(), 'lc-none-')) }));

function keptOrder(input: Buffer, sortUniq: boolean, chunkSize: number, memoryBytes?: number): Buffer {
  const tmpDir = mkdtempSync(join(tmpdir(), 'lc-runs-'));
  const kept = new KeptLines({ sortUniq, memoryBytes, tmpDir });
  // Cut at line ends into chunks of about chunkSize, as logcheck/log-source does.
  for (let from = 0; from < input.length;) {
    let to = input.indexOf(0x0a, Math.min(input.length - 1, from + chunkSize));
    to = to === -1 ? input.length : to + 1;
    const chunk = input.subarray(from, to);
    const placed = placeChunk(chunk, everything, sortUniq);
    let start = 0;
    for (let i = 0; i < placed.count; i++) {
      assert.equal(placed.places[i], PLACE_SYSTEM);
      kept.add(chunk, start, placed, i);
      start = placed.ends[i * 3]! + 1;
    }
    from = to;
  }
  const sorted = kept.sorted();
  const out = Buffer.concat([...sorted.chunks()]);
  assert.equal(sorted.strings().join('\n') + (out.length > 0 ? '\n' : ''), out.toString('utf8'));
  if (memoryBytes !== undefined) assert.ok(kept.runs > 1, `${kept.runs} run files`);
  else assert.equal(kept.runs, 0);
  assert.equal(readdirSync(tmpDir).length, memoryBytes === undefined ? 0 : 1);
  kept.dispose();
  assert.deepEqual(readdirSync(tmpDir), [], 'the run files are removed');
  return out;
}

test('kept lines come out in the order of GNU sort -k 1,3 -s and sort -u, as bytes, trailing blanks stripped', () => {
  const r = prng(11);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const lines: Buffer[] = [];
  for (let i = 0; i < 3000; i++) {
    const day = String(1 + Math.floor(r() * 3)).padStart(2, ' ');
    const stamp = pick([
      `Dec ${day} 10:0${Math.floor(r() * 2)}:0${Math.floor(r() * 2)}`,
      // Keys longer than the 18 packed bytes, equal far into them.
      `2026-12-0${Math.floor(r() * 2)}T10:00:00.00000${Math.floor(r() * 3)}+00:00 host prog[${Math.floor(r() * 3)}]:`,
      `Dec ${day}`,
      'short',
      '',
    ]);
    const tail = pick(['', ' trailing \t', '  ', ' x\t']);
    const text = `${stamp} ${pick(['host', 'hôst', 'h'])} prog[${i % 7}]: message ${Math.floor(r() * 4)}${tail}`;
    const bytes = Buffer.from(
      r() < 0.05 ? text.replace('message', '\xff\xfe') : text,
      r() < 0.05 ? 'latin1' : 'utf8',
    );
    lines.push(bytes);
  }
  const input = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
  for (const uniq of [false, true]) {
    const sort = spawnSync('sort', uniq ? ['-u'] : ['-k', '1,3', '-s'], {
      input,
      env: { ...process.env, LC_ALL: 'C' },
    });
    const expected = Buffer.from(
      sort.stdout
        .toString('latin1')
        .split('\n')
        .slice(0, -1)
        .map((l) => `${l.replace(/[ \t]+$/, '')}\n`)
        .join(''),
      'latin1',
    );
    for (const [chunkSize, memory] of [
      [100, undefined],
      [4096, undefined],
      [1 << 20, undefined],
      // Held lines go to run files every ~20 KB, and come back merged.
      [4096, 20_000],
      [1 << 20, 3_000],
    ] as const) {
      const got = keptOrder(input, uniq, chunkSize, memory);
      const what = `${uniq ? 'sort -u' : 'sort -k 1,3 -s'}, chunks of ${chunkSize}, memory ${memory ?? 'unbounded'}`;
      assert.ok(got.equals(expected), what);
    }
  }
});
