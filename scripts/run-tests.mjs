// Test launcher behind `npm test`. Node 20's runner neither globs nor finds .ts files, so this
// collects every *.test.ts under src/ and test/ (sorted) and runs them with
// `node --import tsx --test`. Tests under test/e2e/ and test/helpers/, and any test importing the
// namespace lab helper, are lab tests (network namespaces, need root); all others are unit tests.
//
//   node scripts/run-tests.mjs [--unit | --lab] [-- FILTER...]
//
// Default runs both sets. FILTERs keep only files whose path contains one of them. Without root
// the lab tests are not run, and the exit code is non-zero unless --unit was given.

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const dash = args.indexOf('--');
const flags = dash === -1 ? args : args.slice(0, dash);
const filters = dash === -1 ? [] : args.slice(dash + 1);
for (const f of flags) {
  if (f !== '--unit' && f !== '--lab') {
    console.error(
      `run-tests: unknown argument ${f}\nusage: node scripts/run-tests.mjs [--unit | --lab] [-- FILTER...]`,
    );
    process.exit(2);
  }
}
const wantUnit = flags.includes('--unit') || !flags.includes('--lab');
const wantLab = flags.includes('--lab') || !flags.includes('--unit');

function find(dir) {
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : find(path);
    return e.isFile() && e.name.endsWith('.test.ts') ? [path.split(sep).join('/')] : [];
  });
}

const all = [...find('src'), ...find('test')]
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
// A test that builds network namespaces (imports the lab helper) needs root, wherever it lives.
const isLab = (f) =>
  f.startsWith('test/e2e/') ||
  f.startsWith('test/helpers/') ||
  /helpers\/netns\.ts['"]/.test(readFileSync(join(root, f), 'utf8'));
const unit = wantUnit ? all.filter((f) => !isLab(f)) : [];
let lab = wantLab ? all.filter(isLab) : [];

if (unit.length + lab.length === 0) {
  console.error(`run-tests: no test files selected (filters: ${filters.join(', ') || 'none'})`);
  process.exit(1);
}

let labSkipped = false;
if (lab.length > 0 && process.getuid?.() !== 0) {
  console.error(
    `run-tests: NOT RUN: ${lab.length} lab test file(s) (test/e2e/, test/helpers/) need root for network ` +
      `namespaces; run as root, or pass --unit to run only the unit tests.`,
  );
  labSkipped = true;
  lab = [];
}

let code = 0;
const files = [...unit, ...lab];
if (files.length > 0) {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
    { cwd: root, stdio: 'inherit' },
  );
  code = r.status ?? 1;
  if (r.error) console.error(`run-tests: ${r.error.message}`);
}
if (labSkipped) {
  console.error('run-tests: failing because the lab tests were not run (see above).');
  code ||= 1;
}
process.exit(code);
