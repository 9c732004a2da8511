// The default nft runner on the project's process runner: stdin fed and closed, any exit code
// resolved, a program that cannot run or hangs is a FirewallError without exit code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes } from '../../errors.ts';
import { defaultNftRun, FirewallError, libnftRequest, libnftRun, spawnRun } from './runner.ts';

test('spawnRun feeds stdin, resolves with the exit code and both outputs', async () => {
  const result = await spawnRun(['/bin/sh', '-c', 'cat; echo oops >&2; exit 3'], 'add table inet x\n');
  assert.deepEqual(result, { code: 3, stdout: 'add table inet x\n', stderr: 'oops\n' });
  assert.deepEqual(await spawnRun(['/bin/sh', '-c', 'cat']), { code: 0, stdout: '', stderr: '' }, 'no stdin');
});

test('spawnRun rejects with a FirewallError when nft cannot run, hangs or is killed', async () => {
  const missing = await spawnRun(['/nonexistent/nft', '-f', '-'], 'x').catch((err: unknown) => err);
  assert.ok(missing instanceof FirewallError);
  assert.equal(missing.exitCode, null);
  assert.equal(missing.code, ErrorCodes.COMMAND_FAILED);
  assert.equal(missing.command, '/nonexistent/nft -f -');
  assert.equal(missing.input, 'x');
  await assert.rejects(
    spawnRun(['/bin/sleep', '5'], undefined, 100),
    /\/bin\/sleep 5: could not run: timed out after 100 ms/,
  );
  await assert.rejects(spawnRun(['/bin/sh', '-c', 'kill -9 $$']), /could not run: killed by SIGKILL/);
  await assert.rejects(spawnRun([]), /empty command/);
});

test('libnftables is asked exactly what nft -c, -j and -f - would do; anything else goes to the program', async () => {
  assert.deepEqual(libnftRequest(['nft', '-f', '-'], 'add table inet x\n'), {
    json: false,
    dryRun: false,
    commands: 'add table inet x\n',
  });
  assert.deepEqual(libnftRequest(['nft', '-c', '-f', '-'], 'x'), {
    json: false,
    dryRun: true,
    commands: 'x',
  });
  assert.deepEqual(libnftRequest(['nft', '-j', 'list', 'set', 'inet', 'portsnare', 'blocked4']), {
    json: true,
    dryRun: false,
    commands: 'list set inet portsnare blocked4',
  });
  for (const argv of [
    ['nft', '-a', 'list', 'ruleset'],
    ['nft', '-f', '/etc/nftables.conf'],
    ['nft'],
    ['nft', '-f', '-'],
  ]) {
    assert.equal(libnftRequest(argv), null, argv.join(' '));
  }
  // What it does not take is run as a program, by the fallback.
  const seen: string[][] = [];
  const run = libnftRun((argv) => {
    seen.push(argv);
    return Promise.resolve({ code: 0, stdout: 'from the program', stderr: '' });
  });
  assert.equal((await run(['nft', '-a', 'list', 'ruleset'])).stdout, 'from the program');
  assert.deepEqual(seen, [['nft', '-a', 'list', 'ruleset']]);
  // Another nft than the plain one is always the program (libnftables would read `hi` as a command).
  assert.deepEqual(await defaultNftRun('/bin/echo')(['/bin/echo', 'hi']), {
    code: 0,
    stdout: 'hi\n',
    stderr: '',
  });
});
