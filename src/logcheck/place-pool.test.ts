import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LinePartition } from './classify.ts';
import { placeChunk } from './line-places.ts';
import { PlacePool } from './place-pool.ts';
import { loadRuleTree } from './rules.ts';

const SAMPLE = fileURLToPath(new URL('../../test/fixtures/logcheck/input/sample.log', import.meta.url));

test('workers place every line as the calling thread does, in the order asked', async () => {
  const tree = { ruleDir: '/etc/logcheck', level: 'server' as const };
  const partition = new LinePartition(loadRuleTree(tree));
  const sample = readFileSync(SAMPLE);
  const chunks = Array.from({ length: 12 }, (_, i) =>
    Buffer.concat(Array.from({ length: i + 1 }, () => sample)),
  );
  const pool = new PlacePool({ tree, sortUniq: false, partition, inlineBytes: 0, workers: 2 });
  try {
    const placed = await Promise.all(chunks.map((c) => pool.place(Buffer.from(c))));
    chunks.forEach((chunk, i) => {
      const here = placeChunk(chunk, partition, false);
      const there = placed[i]!;
      assert.equal(there.count, here.count);
      assert.deepEqual([...there.places], [...here.places]);
      assert.deepEqual([...there.ends], [...here.ends]);
      assert.ok(Buffer.from(there.chunk).equals(chunk), 'the chunk is handed back whole');
    });
    assert.ok(placed[0]!.places.some((p) => p === 0) && placed[0]!.places.some((p) => p === 1));
  } finally {
    await pool.close();
  }
});

test('a worker that cannot load the rules fails the run with its reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lc-pool-'));
  mkdirSync(join(dir, 'ignore.d.server'));
  // Valid when the run loaded it, broken by the time the worker does.
  writeFileSync(join(dir, 'ignore.d.server', 'local'), 'fine\n');
  const tree = { ruleDir: dir, level: 'server' as const };
  const partition = new LinePartition(loadRuleTree(tree));
  writeFileSync(join(dir, 'ignore.d.server', 'local'), 'broken(\n');
  const pool = new PlacePool({ tree, sortUniq: false, partition, inlineBytes: 0, workers: 1 });
  try {
    await assert.rejects(pool.place(Buffer.from('a line\n')), /local.*line 1|Unmatched/);
  } finally {
    await pool.close();
  }
});
