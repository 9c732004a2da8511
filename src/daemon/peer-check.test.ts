/**
 * @module daemon/peer-check.test
 * The kernel's peer credentials on the control socket, with real processes of another user
 * (uid 65534): the client refuses a daemon that is not root even when the socket file looks right,
 * and the daemon refuses a client that is not root even when the socket's mode would let it in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendRequest } from '../control/client.ts';
import { ControlServer } from '../control/server.ts';
import { ErrorCodes, hasCode } from '../errors.ts';
import { rootPeerCheck } from './peer-check.ts';

const NOBODY = 65534;

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'psn-peer-'));
  await chmod(dir, 0o777); // so uid 65534 can bind and connect in it
  return dir;
}

test('our own daemon passes; a server run by another user is refused before anything is sent', async (t) => {
  const check = rootPeerCheck();
  assert.ok(check, 'the native addon is built');
  const dir = await scratch();
  t.after(() => rm(dir, { recursive: true, force: true }));

  const own = join(dir, 'own.sock');
  const server = await ControlServer.listen(own, () => Promise.resolve('ok'), { verifyPeer: check });
  try {
    assert.equal(await sendRequest(own, { command: 'list' }, { verifyPeer: check }), 'ok');
  } finally {
    await server.close();
  }

  const planted = join(dir, 'planted.sock');
  const fake = spawn(
    process.execPath,
    [
      '-e',
      `require('node:net').createServer((s) => s.on('data', () => { process.stdout.write('got a request\\n'); s.end('{"ok":true,"result":"ok"}\\n'); }))
        .listen(process.argv[1], () => process.stdout.write('listening\\n'));`,
      planted,
    ],
    { uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => fake.kill('SIGKILL'));
  let seen = '';
  fake.stdout.setEncoding('utf8').on('data', (d: string) => (seen += d));
  for (let i = 0; i < 100 && !seen.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));
  await chown(planted, 0, 0); // the file now looks root's: only the peer credentials can tell
  await assert.rejects(
    sendRequest(planted, { command: 'list' }, { verifyPeer: check }),
    (err) => hasCode(err, ErrorCodes.UNSAFE_PATH) && /runs as uid 65534, not root/.test(err.message),
  );
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(!seen.includes('got a request'), 'nothing was sent to it');
});

test('the daemon answers a client of another user with PERMISSION and never runs its request', async (t) => {
  const dir = await scratch();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'portsnare.sock');
  let calls = 0;
  const server = await ControlServer.listen(
    path,
    () => {
      calls++;
      return Promise.resolve('ok');
    },
    { verifyPeer: rootPeerCheck() },
  );
  try {
    await chmod(path, 0o666); // a careless mode: only the credentials keep the client out
    // Not spawnSync: this process's server must keep running while the client talks to it.
    const client = spawn(
      process.execPath,
      [
        '-e',
        `const s = require('node:net').createConnection(process.argv[1], () => s.write('{"command":"flush"}\\n'));
         let r = ''; s.on('data', (d) => (r += d)); s.on('close', () => process.stdout.write(r));`,
        path,
      ],
      { uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    client.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    client.on('error', (err) => assert.fail(err));
    const [code] = (await once(client, 'exit')) as [number | null];
    assert.equal(code, 0);
    if (client.stdout.readable) await once(client.stdout, 'end');
    const reply = JSON.parse(stdout) as { ok: boolean; code: string; error: string };
    assert.equal(reply.ok, false);
    assert.equal(reply.code, ErrorCodes.PERMISSION);
    assert.match(reply.error, /runs as uid 65534, not root/);
    assert.equal(calls, 0);
    assert.equal(server.refused, 1);
  } finally {
    await server.close();
  }
});
