// Module-header check behind `npm test`: every non-test module under src/ starts with one form,
//
//   /**
//    * @module <its path under src/, without .ts>
//    * What it owns (at least one line).
//    */
//
// and the @module path matches where the file is, so a moved file cannot keep its old name.
// Prints every file that breaks the rule and exits 1; exits 0 when all are right.
//
//   node scripts/check-headers.mjs [ROOT]
//
// ROOT (default: the repository) is the directory holding src/; the unit test runs it on temp trees.

import { readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listTs } from './lib/ts-files.mjs';

const root = resolve(process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url)));
const srcDir = join(root, 'src');

/** What is wrong with one module's header, or null. */
function problem(text, expected) {
  const lines = text.split('\n', 4).map((l) => l.replace(/\r$/, ''));
  if (lines[0] !== '/**') return 'does not start with a /** module header';
  const match = /^ \* @module (\S+)$/.exec(lines[1] ?? '');
  if (!match) return `second line is not " * @module ${expected}"`;
  if (match[1] !== expected) return `says @module ${match[1]}, but the file is ${expected}`;
  if (!/^ \* \S/.test(lines[2] ?? '')) return 'header does not say what the module owns (third line)';
  if (!/\n \*\/(\n|$)/.test(text)) return 'header is not closed by " */"';
  return null;
}

const files = listTs(srcDir, { tests: false });
const bad = [];
for (const file of files) {
  const expected = relative(srcDir, file).split(sep).join('/').replace(/\.ts$/, '');
  const why = problem(readFileSync(file, 'utf8'), expected);
  if (why !== null) bad.push(`${relative(root, file).split(sep).join('/')}: ${why}`);
}
for (const line of bad) console.error(`check-headers: ${line}`);
if (bad.length > 0) {
  console.error(`check-headers: ${bad.length} of ${files.length} modules have a wrong header`);
  process.exit(1);
}
console.log(`check-headers: ${files.length} module headers in order`);
