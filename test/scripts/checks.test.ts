// The tree checks behind `npm test` (scripts/check-cycles.mjs, scripts/check-headers.mjs), run as
// processes on small temp trees: a tree without a cycle passes, every kind of import that closes a
// cycle (import type, export from, a bare import, across folders) fails and names the cycle; a
// module header that is missing, of the wrong form or names another path fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const scripts = fileURLToPath(new URL('../../scripts/', import.meta.url));

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'portsnare-checks-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function run(script: string, files: Record<string, string>) {
  const root = tree(files);
  try {
    const r = spawnSync(process.execPath, [join(scripts, script), root], { encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const header = (module: string) => `/**\n * @module ${module}\n * A test module.\n */\n`;

test('check-cycles passes a tree without a cycle', () => {
  const r = run('check-cycles.mjs', {
    'src/a.ts': `${header('a')}import { b } from './b.ts';\nexport const a = b;\n`,
    'src/b.ts': `${header('b')}// import { a } from './a.ts';\n/* export * from './a.ts'; */\nexport const b = 1;\n`,
    'src/c.ts': `${header('c')}const text = \`import { a } from './a.ts'\`;\nexport { text };\n`,
    'src/x/d.ts': `${header('x/d')}import type { a } from '../a.ts';\nimport 'node:fs';\nexport type D = typeof a;\n`,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /no import cycle in src\/ \(4 files\)/);
});

test('check-cycles fails on a cycle of type imports and re-exports and prints each cycle', () => {
  const r = run('check-cycles.mjs', {
    'src/a.ts': `import type { B } from './b.ts';\nexport type A = B;\n`,
    'src/b.ts': `export type { C as B } from './deep/c.ts';\n`,
    'src/deep/c.ts': `import {\n  type A,\n} from '../a.ts';\nexport type C = A | 1;\n`,
    'src/d.ts': `import './e.ts';\n`,
    'src/e.ts': `export * from './d.ts';\n`,
    'src/ok.ts': `import { x } from './a.ts';\n`,
  });
  assert.equal(r.code, 1);
  const cycles = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('check-cycles: cycle: '))
    .map((l) => l.slice('check-cycles: cycle: '.length));
  assert.deepEqual(cycles.sort(), [
    'src/a.ts -> src/b.ts -> src/deep/c.ts -> src/a.ts',
    'src/d.ts -> src/e.ts -> src/d.ts',
  ]);
  assert.match(r.stderr, /2 import cycle\(s\)/);
});

test('check-cycles finds a module importing itself', () => {
  const r = run('check-cycles.mjs', { 'src/self.ts': `export * from './self.ts';\n` });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cycle: src\/self\.ts -> src\/self\.ts/);
});

test('check-cycles fails on imports against the layers and names them', () => {
  const r = run('check-cycles.mjs', {
    'src/config/settings.ts': `import { run } from '../respond/exec.ts';\nexport const s = run;\n`,
    'src/respond/exec.ts': `export const run = 1;\n`,
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /1 import\(s\) against the layers/);
  assert.match(r.stderr, /src\/config\/settings\.ts -> src\/respond\/exec\.ts/);
});

test('check-headers passes modules whose @module names their path; tests need no header', () => {
  const r = run('check-headers.mjs', {
    'src/errors.ts': `${header('errors')}export {};\n`,
    'src/sensors/classic.ts': `${header('sensors/classic')}export {};\n`,
    'src/sensors/classic.test.ts': `import './classic.ts';\n`,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /2 module headers in order/);
});

test('check-headers names every module with a wrong, old-form or missing header', () => {
  const r = run('check-headers.mjs', {
    'src/sensors/classic.ts': `${header('daemon/classic-sensors')}export {};\n`,
    'src/sensors/native.ts': `// The native addon.\nexport {};\n`,
    'src/sensors/bare.ts': `/**\n * @module sensors/bare\n */\nexport {};\n`,
    'src/net/ok.ts': `${header('net/ok')}export {};\n`,
  });
  assert.equal(r.code, 1);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    'check-headers: src/sensors/bare.ts: header does not say what the module owns (third line)',
    'check-headers: src/sensors/classic.ts: says @module daemon/classic-sensors, but the file is sensors/classic',
    'check-headers: src/sensors/native.ts: does not start with a /** module header',
    'check-headers: 3 of 4 modules have a wrong header',
  ]);
});
