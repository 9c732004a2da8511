import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { prepareBatch, sortKey } from './batch.ts';
import { prng } from '../../test/builders/fuzz.ts';

test('the key is the line up to the end of its third field, leading blanks kept', () => {
  assert.equal(sortKey('Nov 22 10:15:01 host sshd[1]: x'), 'Nov 22 10:15:01');
  assert.equal(sortKey('Nov  2 10:15:01 host x'), 'Nov  2 10:15:01');
  assert.equal(
    sortKey('2025-11-22T10:15:01.000000+00:00 host sshd[1]: x'),
    '2025-11-22T10:15:01.000000+00:00 host sshd[1]:',
  );
  assert.equal(sortKey('two fields'), 'two fields');
});

test('the batch is ordered exactly as GNU sort -k 1,3 -s (and sort -u) orders it, trailing blanks stripped', () => {
  const r = prng(3);
  const months = ['Nov', 'Dec', 'Jan'];
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) {
    const day = String(1 + Math.floor(r() * 28)).padStart(2, ' ');
    const time = `10:${String(Math.floor(r() * 3)).padStart(2, '0')}:0${Math.floor(r() * 3)}`;
    const tail = r() < 0.2 ? ' trailing \t' : '';
    lines.push(
      `${months[Math.floor(r() * 3)]} ${day} ${time} host prog[${i}]: message ${Math.floor(r() * 5)}${tail}`,
    );
  }
  lines.push('short', 'a  b', '  leading blank line', '');
  for (const uniq of [false, true]) {
    const sort = spawnSync('sort', uniq ? ['-u'] : ['-k', '1,3', '-s'], {
      input: `${lines.join('\n')}\n`,
      encoding: 'utf8',
      env: { ...process.env, LC_ALL: 'C' },
    });
    const expected = sort.stdout
      .split('\n')
      .slice(0, -1)
      .map((l) => l.replace(/[ \t]+$/, ''));
    assert.deepEqual(prepareBatch(lines, uniq), expected, uniq ? 'sort -u' : 'sort -k 1,3 -s');
  }
});
