import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { chown, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { ErrorCodes, hasCode } from '../errors.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

test('a request followed by a half-close runs once (it used to run again on "end")', async () => {
  const path = join(await scratch(), 'portsnare.sock');
  let calls = 0;
  const server = await ControlServer.listen(path, async () => {
    calls++;
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { lifted: calls };
  });
  try {
    // raw() writes the line and half-closes at once, as `shutdown(SHUT_WR)` does.
    const reply = JSON.parse(await raw(path, '{"command":"flush"}\n')) as unknown;
    assert.deepEqual(reply, { ok: true, result: { lifted: 1 } });
    // Bytes after the request line (a second request) are ignored as well.
    await raw(path, '{"command":"flush"}\n{"command":"flush"}\n');
    assert.equal(calls, 2);
  } finally {
    await server.close();
  }
});

test('a client trickling its request is cut off at the deadline, unanswered', async () => {
  const path = join(await scratch(), 'portsnare.sock');
  let calls = 0;
  const server = await ControlServer.listen(
    path,
    () => {
      calls++;
      return Promise.resolve(null);
    },
    { requestDeadlineMs: 300 },
  );
  try {
    const socket = createConnection(path);
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    const started = performance.now();
    const trickle = setInterval(() => socket.write('{'), 50); // active all the time, never a line
    await once(socket, 'close');
    clearInterval(trickle);
    const took = performance.now() - started;
    assert.ok(took >= 250 && took < 3000, `closed after ${took.toFixed(0)} ms`);
    assert.equal(received, '');
    assert.equal(calls, 0);
  } finally {
    await server.close();
  }
});

test('at most maxConnections at once: more are closed unanswered and counted; the server goes on', async () => {
  const path = join(await scratch(), 'portsnare.sock');
  const refusals: string[] = [];
  const server = await ControlServer.listen(path, () => Promise.resolve('ok'), {
    maxConnections: 4,
    onRefused: (why) => refusals.push(why),
  });
  try {
    const idle = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const s = createConnection(path);
        await once(s, 'connect');
        return s;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const fifth = createConnection(path);
    let extra = '';
    fifth.on('data', (d: Buffer) => (extra += d.toString()));
    fifth.on('error', () => undefined);
    await once(fifth, 'close');
    assert.equal(extra, '', 'the fifth connection is closed without a reply');
    assert.deepEqual(refusals, ['busy']);
    assert.equal(server.refused, 1);
    for (const s of idle) s.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await sendRequest(path, { command: 'list' }), 'ok');
  } finally {
    await server.close();
  }
});

test('a crowd of idle clients cannot exhaust the descriptors: refused, counted, the process can still open files', async (t) => {
  const path = join(await scratch(), 'portsnare.sock');
  const fixture = fileURLToPath(new URL('../../test/fixtures/processes/control-server.ts', import.meta.url));
  // 64 descriptors: node itself needs ~25; 100 clients would take the rest without the cap.
  const child = spawn('prlimit', ['--nofile=64', process.execPath, '--import', 'tsx', fixture, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  const until = async (text: string) => {
    for (let i = 0; i < 200 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(out.includes(text), `fixture never printed ${JSON.stringify(text)}:\n${out}`);
  };
  await until('ready');
  const clients = await Promise.all(
    Array.from({ length: 100 }, async () => {
      const s = createConnection(path);
      s.on('error', () => undefined);
      await Promise.race([once(s, 'connect'), once(s, 'close')]);
      return s;
    }),
  );
  await until('refused busy');
  child.kill('SIGUSR2');
  await until('open ');
  assert.match(out, /^open ok$/m, 'with 100 clients connected the process can still open a file');
  for (const s of clients) s.destroy();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(await sendRequest(path, { command: 'status' }), 'pong');
  assert.ok(!out.includes('fatal'), out);
  assert.equal(child.exitCode, null, 'the server process still runs');
});

test('the client trusts only a socket owned by root or itself: a planted one or a plain file is refused', async () => {
  const dir = await scratch();
  const path = join(dir, 'portsnare.sock');
  let calls = 0;
  const server = await ControlServer.listen(path, () => {
    calls++;
    return Promise.resolve({ blocked: true });
  });
  try {
    await chown(path, 65534, 65534); // as if another user had planted it
    await assert.rejects(sendRequest(path, { command: 'list' }), (err) =>
      hasCode(err, ErrorCodes.UNSAFE_PATH),
    );
    assert.equal(calls, 0, 'nothing was sent to it');
    await chown(path, 0, 0);
    assert.deepEqual(await sendRequest(path, { command: 'list' }), { blocked: true });
  } finally {
    await server.close();
  }
  await writeFile(path, '');
  await assert.rejects(sendRequest(path, { command: 'list' }), /is not a socket/);
});
