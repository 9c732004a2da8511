import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMAND_MAX_BUFFER, runCommand, runProcess } from './exec.ts';

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

test('KILL_RUN_CMD output past 64 KiB is drained, not a failure; a failure keeps a bounded tail', async () => {
  // Issue 9 item 10: more than COMMAND_MAX_BUFFER on stdout was "stdout maxBuffer length exceeded".
  assert.deepEqual(await runCommand(['/usr/bin/head', '-c', '1000000', '/dev/zero']), { ok: true });
  assert.deepEqual(await runCommand(['/bin/sh', '-c', 'yes | head -n 100000']), { ok: true });
  assert.deepEqual(await runCommand(['/bin/sh', '-c', 'yes | head -n 100000 >&2']), { ok: true });
  // A failure with a huge stderr: its reason is one short line, the end of what was said.
  const failed = await runCommand(['/bin/sh', '-c', 'yes | head -n 100000 >&2; echo the end >&2; exit 4']);
  assert.equal(failed.ok, false);
  assert.match(
    failed.reason ?? '',
    /^exited with status 4: \.\.\.the end \(last line of \d+ characters on stderr\)$/,
  );
  // Whatever the output, what is kept stays bounded.
  const outcome = await runProcess(['/usr/bin/head', '-c', '5000000', '/dev/zero'], {
    timeoutMs: 10_000,
    maxBuffer: COMMAND_MAX_BUFFER,
  });
  assert.equal(outcome.kind, 'exited');
  assert.equal(outcome.stdout.length, COMMAND_MAX_BUFFER);
  assert.equal((outcome.stdoutDropped ?? 0) + outcome.stdout.length, 5_000_000);
});
