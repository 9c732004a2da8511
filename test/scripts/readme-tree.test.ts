/**
 * @module test/scripts/readme-tree.test
 * The README's folder tree matches the code: every directory under src/ (and the top folders of
 * test/) has its line, and every line names a directory that exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function directories(dir: string, prefix: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => [`${prefix}${e.name}/`, ...directories(join(dir, e.name), `${prefix}${e.name}/`)]);
}

test('the README tree names every src/ directory, and only existing ones', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Design and dependencies'));
  const block = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const listed = [...block.matchAll(/^(\S+\/)\s/gm)].map((m) => m[1] ?? '');
  const named = new Set(block.match(/[\w./-]+\//g) ?? []);
  for (const dir of ['src/', ...directories('src', 'src/')]) {
    const leaf = dir.split('/').slice(-2)[0] ?? '';
    assert.ok(listed.includes(dir) || named.has(`${leaf}/`), `README tree misses ${dir}`);
  }
  for (const dir of listed) {
    assert.ok(existsSync(join(ROOT, dir)) && statSync(join(ROOT, dir)).isDirectory(), `README names ${dir}`);
  }
});
