/**
 * @module test/e2e/hostile-state-dir.test
 * Issue 9, item 1, as the attacker does it: a careless administrator made STATE_DIR writable by
 * everyone, and an unprivileged user (uid 65534) planted a fake control server at
 * STATE_DIR/portsnare.sock that answers every request with success. Root's `portsnare block` must
 * not believe it: it refuses the loose STATE_DIR and never connects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PORTSNARE_BIN } from '../helpers/daemon.ts';

const NOBODY = 65534;

const FAKE_DAEMON = `
  const net = require('node:net');
  const server = net.createServer((socket) => {
    process.stdout.write('connection\\n');
    socket.on('data', () =>
      socket.end(JSON.stringify({ ok: true, result: { address: '192.0.2.7', backends: ['nft', 'hosts.deny', 'route'] } }) + '\\n'),
    );
  });
  server.listen(process.argv[1], () => process.stdout.write('listening\\n'));
`;

test('a fake server planted in a world-writable STATE_DIR is not trusted by root', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-hostile-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  const stateDir = join(dir, 'state');
  await mkdir(stateDir);
  await chmod(stateDir, 0o777);
  const config = join(dir, 'portsentry.conf');
  await writeFile(
    config,
    [
      `STATE_DIR="${stateDir}"`,
      `IGNORE_FILE="${dir}/ignore"`,
      `HISTORY_FILE="${dir}/history"`,
      `BLOCKED_FILE="${dir}/blocked"`,
      `HOSTS_DENY_FILE="${dir}/hosts.deny"`,
      `SYSLOG_SOCKET="${dir}/log.sock"`,
      'BLOCK_BACKEND="classic"',
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'ignore'), '');

  const attacker = spawn(process.execPath, ['-e', FAKE_DAEMON, join(stateDir, 'portsnare.sock')], {
    uid: NOBODY,
    gid: NOBODY,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => attacker.kill('SIGKILL'));
  let seen = '';
  attacker.stdout.setEncoding('utf8');
  attacker.stdout.on('data', (d: string) => (seen += d));
  for (let i = 0; i < 100 && !seen.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(seen.includes('listening'), 'the fake daemon listens');

  const block = spawnSync(process.execPath, [PORTSNARE_BIN, 'block', '192.0.2.7', '--config', config], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(block.status, 1, `exit status; stdout: ${block.stdout}`);
  assert.equal(block.stdout, '', 'nothing is reported as blocked');
  assert.match(block.stderr, /^portsnare: STATE_DIR cannot be trusted: .*state: is writable by everyone/);
  assert.ok(!seen.includes('connection'), 'root never connected to the planted socket');
});
