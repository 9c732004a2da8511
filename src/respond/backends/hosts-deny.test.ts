import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostsDenyBackend, type HostsDenyFile } from './hosts-deny.ts';
import { fakeContext } from '../../../test/helpers/backend-context.ts';

function fakeFile() {
  const lines = new Set<string>();
  const file: HostsDenyFile = {
    addLine: (_path, line) => {
      const had = lines.has(line);
      lines.add(line);
      return Promise.resolve(had ? 'present' : 'added');
    },
    addLines: (_path, more) => {
      more.forEach((l) => lines.add(l));
      return Promise.resolve(more.length);
    },
    removeLines: (_path, gone) => {
      gone.forEach((l) => lines.delete(l));
      return Promise.resolve(gone.length);
    },
  };
  return { file, lines };
}

const request = {
  address: '192.0.2.7',
  host: '192.0.2.7',
  port: 1,
  mode: 'tcp' as const,
  protocol: 'tcp' as const,
};

test('hosts.deny: the template line is added once (a line already there is reported so), lifted, put back', async () => {
  const { ctx } = fakeContext('HOSTS_DENY_FILE="/tmp/x"\n');
  const { file, lines } = fakeFile();
  const backend = new HostsDenyBackend(ctx, file);
  assert.equal(backend.inUse(), true);
  assert.deepEqual(await backend.block(request), {
    key: 'KILL_HOSTS_DENY',
    ok: true,
    detail: 'ALL: 192.0.2.7 : DENY',
    alreadyThere: false,
  });
  assert.equal((await backend.block(request)).alreadyThere, true);
  const target = {
    address: '192.0.2.7',
    backends: ['hosts.deny' as const],
    port: 1,
    mode: 'tcp',
    secondsLeft: null,
  };
  assert.deepEqual(await backend.lift([target]), ['192.0.2.7']);
  assert.equal(lines.size, 0);
  assert.equal(await backend.reapply([target]), 0);
  assert.deepEqual([...lines], ['ALL: 192.0.2.7 : DENY']);
});

test('hosts.deny: without a way to remove lines, lift fails and says so for each ban', async () => {
  const { ctx, lines } = fakeContext('HOSTS_DENY_FILE="/tmp/x"\n');
  const backend = new HostsDenyBackend(ctx, { addLine: () => Promise.resolve('added') });
  assert.deepEqual(
    await backend.lift([{ address: '192.0.2.7', backends: ['hosts.deny'], port: 1, mode: 'tcp' }]),
    [],
  );
  assert.equal(lines.length, 1);
  assert.equal(new HostsDenyBackend(ctx, fakeFile().file, false).inUse(), false);
});
