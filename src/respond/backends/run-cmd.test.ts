import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunCmdBackend } from './run-cmd.ts';
import { fakeContext } from '../../../test/helpers/backend-context.ts';

test('run-cmd: runs KILL_RUN_CMD with its macros, reports a failure, has no undo', async () => {
  const { ctx, ran, lines } = fakeContext('KILL_RUN_CMD="/usr/local/bin/notify $TARGET$ $PORT$ $MODE$"\n', {
    '/usr/local/bin/notify': { ok: false, reason: 'exited with status 3' },
  });
  const cmd = new RunCmdBackend(ctx);
  assert.equal(cmd.blocks, false);
  const report = await cmd.block({
    address: '192.0.2.7',
    host: '192.0.2.7',
    port: 143,
    mode: 'tcp',
    protocol: 'tcp',
  });
  assert.deepEqual(ran, [['/usr/local/bin/notify', '192.0.2.7', '143', 'tcp']]);
  assert.deepEqual(report, {
    key: 'KILL_RUN_CMD',
    ok: false,
    detail: '/usr/local/bin/notify: exited with status 3',
  });
  assert.equal(lines.length, 2);
  assert.deepEqual(await cmd.lift(), []);
  assert.equal(await cmd.reapply(), 0);
  assert.equal(new RunCmdBackend(fakeContext('').ctx).inUse(), false);
});
