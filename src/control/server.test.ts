import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { NoDaemonError, sendRequest } from './client.ts';
import { ControlServer } from './server.ts';
import type { ControlRequest } from './protocol.ts';

const scratch = () => mkdtemp(join(tmpdir(), 'psn-control-'));

/** Sends raw bytes and returns the raw reply. */
async function raw(path: string, bytes: string, end = true): Promise<string> {
  const socket = createConnection(path);
  await once(socket, 'connect');
  let reply = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (reply += d));
  if (end) socket.end(bytes);
  else socket.write(bytes);
  await once(socket, 'close');
  return reply;
}

test('answers one request per connection; the socket is 0600 from the start', async () => {
  const path = join(await scratch(), 'portsnare.sock');
  const seen: ControlRequest[] = [];
  const server = await ControlServer.listen(path, (request) => {
    seen.push(request);
    if (request.command === 'unblock') return Promise.reject(new Error('nothing to unblock'));
    return Promise.resolve({ echo: request.command });
  });
  try {
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await sendRequest(path, { command: 'status' }), { echo: 'status' });
    await assert.rejects(
      sendRequest(path, { command: 'unblock', target: '192.0.2.1' }),
      /nothing to unblock/,
    );
    assert.deepEqual(seen, [{ command: 'status' }, { command: 'unblock', target: '192.0.2.1' }]);
  } finally {
    await server.close();
  }
  await assert.rejects(stat(path), /ENOENT/, 'close removes the socket');
});

test('hostile input gets an error reply and never reaches the handler', async () => {
  const path = join(await scratch(), 'portsnare.sock');
  let calls = 0;
  const server = await ControlServer.listen(path, () => {
    calls++;
    return Promise.resolve(null);
  });
  try {
    const replies = [
      await raw(path, 'not json\n'),
      await raw(path, '{"command":"block","address":"1.2.3.4","seconds":-1}\n'),
      await raw(path, ''),
      await raw(path, 'x'.repeat(100_000), false),
    ].map((r) => JSON.parse(r) as { ok: boolean; code: string; error: string });
    assert.deepEqual(
      replies.map((r) => [r.ok, r.code]),
      Array(4).fill([false, 'PSN_ERR_USAGE']),
    );
    assert.match(replies[3]?.error ?? '', /longer than 4096 bytes/);
    assert.equal(calls, 0);
  } finally {
    await server.close();
  }
});

/** A socket file whose process was killed (-9) while listening, as a crashed daemon leaves it. */
function orphanSocket(path: string): void {
  const r = spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  assert.equal(r.signal, 'SIGKILL');
}

test('a stale socket (its daemon was killed) is replaced; a live one is refused', async () => {
  const path = join(await scratch(), 'portsnare.sock');
  orphanSocket(path);
  assert.ok((await stat(path)).isSocket());
  const server = await ControlServer.listen(path, () => Promise.resolve('ok'));
  try {
    assert.equal(await sendRequest(path, { command: 'list' }), 'ok');
    await assert.rejects(
      ControlServer.listen(path, () => Promise.resolve('second')),
      /another portsnare answers/,
    );
    assert.equal(await sendRequest(path, { command: 'list' }), 'ok');
  } finally {
    await server.close();
  }
});

test('the client tells "no daemon" apart from a daemon that answered with an error', async () => {
  const dir = await scratch();
  await assert.rejects(sendRequest(join(dir, 'missing.sock'), { command: 'status' }), NoDaemonError);
  orphanSocket(join(dir, 'orphan.sock'));
  await assert.rejects(sendRequest(join(dir, 'orphan.sock'), { command: 'status' }), NoDaemonError);
});
