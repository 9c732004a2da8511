import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from './exec.ts';

test('exit 0 is success; anything else is a failure with a reason', async () => {
  assert.deepEqual(await runCommand(['/bin/true']), { ok: true });
  assert.deepEqual(await runCommand(['/bin/false']), { ok: false, reason: 'exited with status 1' });
  assert.deepEqual(await runCommand(['/nonexistent/route', 'add']), {
    ok: false,
    reason: 'program not found: /nonexistent/route',
  });
  assert.deepEqual(await runCommand(['/bin/sh', '-c', 'echo boom >&2; exit 7']), {
    ok: false,
    reason: 'exited with status 7: boom',
  });
  assert.deepEqual(await runCommand(['/bin/sleep', '5'], 200), {
    ok: false,
    reason: 'timed out after 0.2 s',
  });
  assert.deepEqual(await runCommand([]), { ok: false, reason: 'empty command' });
});

test('arguments reach the program verbatim: no shell interprets them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-exec-'));
  const out = join(dir, 'out');
  const hostile = '1.2.3.4;touch pwned;$(id)`id`>x';
  const result = await runCommand(['/usr/bin/env', 'sh', '-c', 'printf %s "$1" > "$2"', 'sh', hostile, out]);
  assert.deepEqual(result, { ok: true });
  assert.equal(await readFile(out, 'utf8'), hostile);
});
