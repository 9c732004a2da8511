/**
 * @module cli/exit-codes.test
 * Exit statuses per kind of failure, in-process through the dispatcher (no root, no network): a
 * usage error, a config error, no daemon, a daemon that refused, a daemon whose reply is malformed,
 * and a failure with no code of its own. A stand-in daemon answers on STATE_DIR/portsnare.sock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ControlServer, type ControlHandler } from '../control/server.ts';
import { ErrorCodes, PortsnareError } from '../errors.ts';
import { ExitCodes } from '../exit-codes.ts';
import { statePaths } from '../state/state-dir.ts';
import { reportFailure } from './control-session.ts';
import { dispatch } from './dispatch.ts';
import { exitCodeOf } from './exit-status.ts';

function collector(): Writable & { text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

async function scratch(lines: string[] = []): Promise<{ config: string; stateDir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'psn-exit-'));
  const config = join(dir, 'portsentry.conf');
  const stateDir = join(dir, 'state');
  const base = [
    `IGNORE_FILE="${dir}/ignore"`,
    `HISTORY_FILE="${dir}/history"`,
    `BLOCKED_FILE="${dir}/blocked"`,
    `HOSTS_DENY_FILE="${dir}/hosts.deny"`,
    `STATE_DIR="${stateDir}"`,
    `SYSLOG_SOCKET="${dir}/no-syslog-here"`,
  ];
  await writeFile(config, [...base, ...lines].join('\n') + '\n');
  return { config, stateDir };
}

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = collector();
  const err = collector();
  const code = await dispatch(argv, { out, err });
  return { code, out: out.text(), err: err.text() };
}

/** Runs `body` while a stand-in daemon answers every request with `handle`. */
async function withDaemon(stateDir: string, handle: ControlHandler, body: () => Promise<void>) {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const server = await ControlServer.listen(statePaths(stateDir).socket, handle);
  try {
    await body();
  } finally {
    await server.close();
  }
}

test('reportFailure: USAGE 64, PERMISSION and EACCES/EPERM (or as cause) 77, anything else 1', () => {
  const err = collector();
  const eacces = Object.assign(new Error('open: EACCES'), { code: 'EACCES' });
  const cases: [unknown, number][] = [
    [new PortsnareError(ErrorCodes.USAGE, 'bad'), ExitCodes.USAGE],
    [new PortsnareError(ErrorCodes.PERMISSION, 'root only'), ExitCodes.NO_PERMISSION],
    [eacces, ExitCodes.NO_PERMISSION],
    [new RangeError('x', { cause: eacces }), ExitCodes.NO_PERMISSION],
    [new PortsnareError(ErrorCodes.PROTOCOL, 'malformed'), ExitCodes.FAILURE],
    [new PortsnareError(ErrorCodes.NOT_ANSWERING, 'stuck'), ExitCodes.FAILURE],
    ['a string', ExitCodes.FAILURE],
  ];
  for (const [failure, code] of cases) assert.equal(reportFailure({ err }, failure), code, String(failure));
  assert.match(err.text(), /^portsnare: bad\nportsnare: root only\n/);
});

test('exitCodeOf keeps our statuses and makes anything else a failure', () => {
  for (const code of Object.values(ExitCodes)) assert.equal(exitCodeOf(code), code);
  assert.equal(exitCodeOf(2), ExitCodes.FAILURE);
  assert.equal(exitCodeOf(134), ExitCodes.FAILURE);
});

test('a config error is 78, for check-config and for the control commands', async () => {
  const good = await scratch();
  assert.equal((await cli(['check-config', '--config', good.config])).code, ExitCodes.OK);
  const bad = await scratch(['TCP_PORTS="1,x"']);
  assert.equal((await cli(['check-config', '--config', bad.config])).code, ExitCodes.CONFIG);
  const status = await cli(['status', '--config', bad.config]);
  assert.equal(status.code, ExitCodes.CONFIG);
  assert.match(status.err, /^portsnare: error: .*TCP_PORTS: "x" is not a port/);
  assert.equal((await cli(['list', '--config', bad.config])).code, ExitCodes.CONFIG);
});

test('no daemon: status exits 3 and shows the store, list exits 0', async () => {
  const { config, stateDir } = await scratch();
  const status = await cli(['status', '--config', config]);
  assert.equal(status.code, ExitCodes.NOT_RUNNING);
  assert.equal(
    status.out,
    `portsnare 0.1.0: not running (no daemon answers in ${stateDir})\nBans:\nNo bans.\n`,
  );
  const list = await cli(['list', '--json', '--config', config]);
  assert.equal(list.code, ExitCodes.OK);
  assert.equal(list.out, '[]\n');
});

test('bad arguments the parser cannot see are usage errors too (64)', async () => {
  const { config } = await scratch();
  const cases: [string[], RegExp][] = [
    [['block', 'nope', '--config', config], /^portsnare: not an IP address: "nope"\n$/],
    [['block', '192.0.2.9', '--for', 'soon', '--config', config], /^portsnare: --for soon: give a duration/],
    [['unblock', '10.0.0.0/33', '--config', config], /^portsnare: not an address or CIDR block/],
  ];
  for (const [argv, message] of cases) {
    const result = await cli(argv);
    assert.equal(result.code, ExitCodes.USAGE, argv.join(' '));
    assert.match(result.err, message);
  }
});

test('a daemon reply: typed when well-formed, 1 with PROTOCOL when not, its error code kept', async () => {
  const { config, stateDir } = await scratch();
  const ban = {
    address: '192.0.2.7',
    since: '2026-11-23T01:00:00.000Z',
    expires: null,
    ports: [1, 11],
    scanType: 'Connect',
    mode: 'tcp',
    backends: ['hosts.deny'],
  };
  let reply: () => Promise<unknown> = () => Promise.resolve([ban]);
  await withDaemon(
    stateDir,
    () => reply(),
    async () => {
      const good = await cli(['list', '--json', '--config', config]);
      assert.equal(good.code, ExitCodes.OK, good.err);
      assert.equal(good.out, `${JSON.stringify([ban], null, 2)}\n`);

      reply = () => Promise.resolve([{ ...ban, ports: '1,11' }]);
      const malformed = await cli(['list', '--config', config]);
      assert.equal(malformed.code, ExitCodes.FAILURE);
      assert.equal(
        malformed.err,
        "portsnare: the daemon's reply is malformed: result[0].ports is not an array\n",
      );

      reply = () => Promise.resolve({ lifted: 'all' });
      assert.equal((await cli(['flush', '--config', config])).code, ExitCodes.FAILURE);

      reply = () => Promise.reject(new PortsnareError(ErrorCodes.USAGE, 'the daemon says no'));
      const refused = await cli(['status', '--config', config]);
      assert.equal(refused.code, ExitCodes.USAGE);
      assert.equal(refused.err, 'portsnare: the daemon says no\n');

      reply = () => Promise.reject(new PortsnareError(ErrorCodes.INVALID_ADDRESS, 'refusing to block'));
      const refusedBlock = await cli(['block', '192.0.2.7', '--config', config]);
      assert.equal(refusedBlock.code, ExitCodes.FAILURE);
      assert.equal(refusedBlock.err, 'portsnare: refusing to block\n');
    },
  );
});

test('check-config and a start refuse a FIFO as HISTORY_FILE and a STATE_DIR others can write to (78)', async () => {
  const fifo = await scratch();
  const history = join(fifo.config, '..', 'history'); // the config's HISTORY_FILE
  spawnSync('mkfifo', [history]);
  const checked = await cli(['check-config', '--config', fifo.config]);
  assert.equal(checked.code, ExitCodes.CONFIG);
  assert.match(checked.out, /HISTORY_FILE: .*history is a fifo; it must be a regular file/);

  const loose = await scratch();
  await mkdir(loose.stateDir, { mode: 0o700 });
  await chmod(loose.stateDir, 0o777);
  const refused = await cli(['check-config', '--config', loose.config]);
  assert.equal(refused.code, ExitCodes.CONFIG);
  assert.match(refused.out, /STATE_DIR: .*state is writable by everyone \(mode 0777\)/);
  // The same check stops a start before anything is opened: nothing was written into STATE_DIR.
  const start = await cli(['-tcp', '--config', loose.config, '--foreground']);
  assert.equal(start.code, ExitCodes.CONFIG);
  assert.deepEqual(await readdir(loose.stateDir), []);
});

test('block refuses addresses that are not a real peer, with or without a daemon, and asks nobody', async () => {
  const { config, stateDir } = await scratch();
  const addresses = ['255.255.255.255', '224.0.0.1', '0.0.0.0', '240.0.0.1', 'ff02::1', 'fe80::1', '::'];
  for (const address of addresses) {
    const result = await cli(['block', address, '--config', config]);
    assert.equal(result.code, ExitCodes.FAILURE, address);
    assert.match(result.err, new RegExp(`^portsnare: refusing to block ${address.replace(/\./g, '\\.')}: `));
  }
  let asked = 0;
  await withDaemon(
    stateDir,
    () => {
      asked++;
      return Promise.reject(new PortsnareError(ErrorCodes.COMMAND_FAILED, 'should not be asked'));
    },
    async () => {
      const result = await cli(['block', '224.0.0.251', '--config', config]);
      assert.equal(result.code, ExitCodes.FAILURE);
      assert.match(result.err, /is a multicast address|multicast/);
    },
  );
  assert.equal(asked, 0);
  assert.deepEqual(await readdir(stateDir), [], 'nothing was written: no store was opened');
});
