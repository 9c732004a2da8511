// Without --foreground, portsnare detaches like PortSentry: the command returns 0 once the detached
// daemon is listening (or non-zero with the daemon's reason), leaves a pid file in STATE_DIR, and
// the daemon keeps working until SIGTERM. Runs in a lab namespace; needs root.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PORTSNARE_BIN, prepareFiles, startDaemon, startService, tcpProbe } from '../helpers/daemon.ts';
import { createLab, waitFor } from '../helpers/netns.ts';
import { createSyslogSink } from '../helpers/syslog-sink.ts';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('detaches, reports readiness, keeps detecting, stops on SIGTERM', async (t) => {
  const lab = await createLab();
  t.after(() => lab.destroy());
  const files = await prepareFiles({ TCP_PORTS: '1,11', UDP_PORTS: '9' });
  const sink = await createSyslogSink(files.syslogSocket);
  t.after(() => sink.close());

  const started = await lab.exec(
    lab.sensor,
    [process.execPath, PORTSNARE_BIN, '-tcp', '-udp', '--config', files.config],
    {
      timeoutMs: 20_000,
    },
  );
  assert.equal(started.code, 0, started.stderr);
  assert.ok(
    sink.messages().includes('adminalert: PortSentry is now active and listening.'),
    'ready before the command returned',
  );
  const pidFile = join(files.stateDir, 'portsnare.pid');
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  assert.ok(pid > 0 && alive(pid), 'the daemon runs on after the command returned');
  t.after(() => {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 11);
  await sink.waitForMessage(
    `attackalert: Connect from host: ${lab.scanner.ipv4}/${lab.scanner.ipv4} to TCP port: 11`,
  );

  process.kill(pid, 'SIGTERM');
  await sink.waitForMessage('adminalert: PortSentry is shutting down');
  await waitFor(() => !alive(pid), { timeoutMs: 5000, what: 'the daemon to exit' });
  assert.equal(existsSync(pidFile), false, 'the pid file is removed');
});

test("a daemon that cannot start makes the command fail with the daemon's reason", async (t) => {
  const lab = await createLab();
  t.after(() => lab.destroy());
  const service = startService(lab, [2001, 2002]);
  await waitFor(() => service.stdout().includes('ready'), { timeoutMs: 5000, what: 'the service' });
  const files = await prepareFiles({ TCP_PORTS: '2001,2002' });
  const sink = await createSyslogSink(files.syslogSocket);
  t.after(() => sink.close());
  const result = await lab.exec(
    lab.sensor,
    [process.execPath, PORTSNARE_BIN, '-tcp', '--config', files.config],
    {
      timeoutMs: 20_000,
      allowFail: true,
    },
  );
  assert.equal(result.code, 1);
  assert.match(result.stderr, /portsnare: could not bind any TCP port/);
  assert.deepEqual(
    sink.messages().filter((m) => m.includes('bind')),
    [
      'adminalert: ERROR: could not bind TCP socket: 2001. Attempting to continue',
      'adminalert: ERROR: could not bind TCP socket: 2002. Attempting to continue',
      'adminalert: ERROR: could not bind ANY TCP sockets. Shutting down.',
    ],
  );
  assert.deepEqual(sink.messages().slice(-2), [
    'securityalert: PortSentry is shutting down',
    'adminalert: PortSentry is shutting down',
  ]);
});

test('--foreground: a stderr that goes away does not stop or stall the daemon', async (t) => {
  const lab = await createLab();
  t.after(() => lab.destroy());
  const files = await prepareFiles({ TCP_PORTS: '1,11', UDP_PORTS: '9' });
  const daemon = await startDaemon(lab, files, ['-tcp']);
  t.after(() => daemon.cleanup());
  daemon.process.child.stderr?.destroy(); // the terminal is gone: writes now fail with EPIPE

  for (const port of [1, 11, 1]) await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, port);
  await daemon.sink.waitForMessage(`attackalert: Host: ${lab.scanner.ipv4} is already blocked. Ignoring`);
  assert.ok(!daemon.sink.messages().some((m) => m.includes('internal error')));
  const started = Date.now();
  assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
  assert.ok(Date.now() - started < 3000, 'SIGTERM is handled promptly');
});

test('a SIGHUP during start-up is held and becomes a reload once listening (it used to kill the daemon)', async (t) => {
  const lab = await createLab();
  t.after(() => lab.destroy());
  // 2,000 trap ports make the start take long enough for the signals to land inside it.
  const files = await prepareFiles({ TCP_PORTS: '20000-21999', UDP_PORTS: '9' });
  const sink = await createSyslogSink(files.syslogSocket);
  t.after(() => sink.close());
  const daemon = lab.spawn(lab.sensor, [
    process.execPath,
    PORTSNARE_BIN,
    '-tcp',
    '--config',
    files.config,
    '--foreground',
  ]);
  t.after(() => daemon.kill('SIGKILL'));
  await sink.waitForMessage('adminalert: PortSentry 1.2 is starting.', { timeoutMs: 15_000 });
  for (let i = 0; i < 3; i++) {
    daemon.kill('SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const signalledAt = sink.messages().length;
  await sink.waitForMessage('adminalert: PortSentry is now active and listening.', { timeoutMs: 30_000 });
  const listening = sink.messages().indexOf('adminalert: PortSentry is now active and listening.');
  assert.ok(listening >= signalledAt, 'the signals came before the daemon was listening');
  await sink.waitForMessage(/^adminalert: Reloaded /, { timeoutMs: 10_000 });
  assert.equal(
    await Promise.race([daemon.exited.then(() => 'exited'), Promise.resolve('running')]),
    'running',
  );
  daemon.kill('SIGTERM');
  assert.deepEqual(await daemon.exited, { code: 0, signal: null });
});

test('a refused second start leaves the running daemon alone: its blocked and history files untouched', async (t) => {
  const lab = await createLab();
  t.after(() => lab.destroy());
  const files = await prepareFiles({
    TCP_PORTS: '1,11',
    UDP_PORTS: '9',
    BLOCK_TCP: '1',
    KILL_HOSTS_DENY: 'ALL: $TARGET$ : DENY',
    KILL_ROUTE: '',
  });
  const first = await startDaemon(lab, files, ['-tcp']);
  t.after(() => first.cleanup());
  await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 11);
  await first.sink.waitForMessage(
    new RegExp(`Host ${lab.scanner.ipv4.replace(/\./g, '\\.')} has been blocked`),
  );
  // The records are written just after the syslog line.
  await waitFor(
    async () =>
      (await readFile(`${files.blocked}.tcp`, 'utf8').catch(() => '')).includes(lab.scanner.ipv4) &&
      (await readFile(files.history, 'utf8').catch(() => '')).includes(lab.scanner.ipv4),
    { timeoutMs: 5000, what: 'the blocked and history lines' },
  );
  const blockedBefore = await readFile(`${files.blocked}.tcp`, 'utf8');
  const historyBefore = await readFile(files.history, 'utf8');

  const second = await lab.exec(
    lab.sensor,
    [process.execPath, PORTSNARE_BIN, '-tcp', '--config', files.config, '--foreground'],
    { allowFail: true, timeoutMs: 20_000 },
  );
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, /in use by process \d+/);
  assert.equal(await readFile(`${files.blocked}.tcp`, 'utf8'), blockedBefore, 'blocked.tcp untouched');
  assert.equal(await readFile(files.history, 'utf8'), historyBefore, 'history untouched');
  assert.equal(
    Number((await readFile(join(files.stateDir, 'portsnare.pid'), 'utf8')).trim()),
    first.process.pid,
  );
});

test('a symlink planted at STATE_DIR/portsnare.pid is refused, and the file it points to is left as it was', async (t) => {
  const lab = await createLab();
  t.after(() => lab.destroy());
  const files = await prepareFiles({ TCP_PORTS: '1,11', UDP_PORTS: '9' });
  await mkdir(files.stateDir, { mode: 0o700 });
  const victim = join(files.dir, 'victim');
  await writeFile(victim, 'precious\n');
  await symlink(victim, join(files.stateDir, 'portsnare.pid'));
  const sink = await createSyslogSink(files.syslogSocket);
  t.after(() => sink.close());
  const run = await lab.exec(
    lab.sensor,
    [process.execPath, PORTSNARE_BIN, '-tcp', '--config', files.config, '--foreground'],
    { allowFail: true, timeoutMs: 20_000 },
  );
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /portsnare\.pid is a symbolic link; refused/);
  assert.equal(await readFile(victim, 'utf8'), 'precious\n');
});
