/**
 * @module test/e2e/hostile-control.test
 * Issue 9, item 3, against the real daemon: a control request followed at once by a half-close
 * (`shutdown(SHUT_WR)`) used to run twice. A half-closing `block` left two blackhole routes and a
 * hosts.deny line that `list` and `unblock` no longer knew; a half-closing `flush` replied
 * `{"lifted":0}` after lifting the bans. One request, one execution, one true reply.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { portsnareCli, prepareFiles, startDaemon } from '../helpers/daemon.ts';
import { createLab, type Lab } from '../helpers/netns.ts';

// Writes one request line and half-closes at once, then prints whatever comes back.
const HALF_CLOSE = `
  const net = require('node:net');
  const [path, line] = process.argv.slice(1);
  const socket = net.createConnection(path, () => socket.end(line + '\\n'));
  let reply = '';
  socket.setEncoding('utf8');
  socket.on('data', (d) => (reply += d));
  socket.on('close', () => process.stdout.write(reply));
`;

async function halfClose(lab: Lab, socketPath: string, request: object): Promise<unknown> {
  const r = await lab.exec(lab.sensor, [
    process.execPath,
    '-e',
    HALF_CLOSE,
    socketPath,
    JSON.stringify(request),
  ]);
  return JSON.parse(r.stdout) as unknown;
}

async function blackholes(lab: Lab): Promise<string[]> {
  const r = await lab.exec(lab.sensor, ['ip', 'route', 'show', 'type', 'blackhole']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

test('a half-closing block and flush run once: one route, one hosts.deny line, a true count', async (t) => {
  const lab = await createLab();
  t.after(() => lab.destroy());
  const files = await prepareFiles({
    TCP_PORTS: '1,11',
    UDP_PORTS: '9',
    KILL_HOSTS_DENY: 'ALL: $TARGET$ : DENY',
    KILL_ROUTE: '/usr/sbin/ip route add blackhole $TARGET$',
  });
  const daemon = await startDaemon(lab, files, ['-tcp']);
  t.after(() => daemon.cleanup());
  const socket = join(files.stateDir, 'portsnare.sock');

  const blocked = (await halfClose(lab, socket, {
    command: 'block',
    address: '192.0.2.55',
    seconds: null,
  })) as {
    ok: boolean;
  };
  assert.equal(blocked.ok, true, JSON.stringify(blocked));
  await new Promise((resolve) => setTimeout(resolve, 500)); // a second run would have happened by now
  assert.deepEqual(await blackholes(lab), ['blackhole 192.0.2.55']);
  const deny = (await readFile(files.hostsDeny, 'utf8')).split('\n').filter(Boolean);
  assert.deepEqual(deny, ['ALL: 192.0.2.55 : DENY']);
  const list = await portsnareCli(lab, files, ['list', '--json']);
  assert.deepEqual(
    (JSON.parse(list.stdout) as { address: string }[]).map((b) => b.address),
    ['192.0.2.55'],
  );

  const flushed = await halfClose(lab, socket, { command: 'flush' });
  assert.deepEqual(flushed, { ok: true, result: { lifted: 1 } });
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(await blackholes(lab), []);
  assert.deepEqual((await readFile(files.hostsDeny, 'utf8')).split('\n').filter(Boolean), []);
  const after = await portsnareCli(lab, files, ['list', '--json']);
  assert.equal(after.stdout.trim(), '[]');
});
