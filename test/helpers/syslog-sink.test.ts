// Proves the fake /dev/log (test/helpers/syslog-sink.ts): strict RFC 3164 parsing of datagrams,
// malformed datagrams surfaced rather than dropped, waitForMessage's count and timeout error, and
// removal of the socket file on close. Needs no root, but lives with the lab helpers.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { createSyslogSink, parseSyslogRecord, sendDatagram, SyslogParseError } from './syslog-sink.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portsnare-syslog-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ALERT =
  '<29>Nov 23 01:16:19 portsnare[15118]: attackalert: Connect from host: 10.1.2.3/10.1.2.3 to TCP port: 1';

void test('syslog sink: parses a datagram into a record', async (t) => {
  const sink = await createSyslogSink(join(dir, 'log1'));
  t.after(() => sink.close());
  assert.ok(existsSync(sink.path));

  await sendDatagram(sink.path, ALERT);
  const [rec] = await sink.waitForMessage('attackalert: Connect from host: 10.1.2.3');
  assert.deepEqual(rec, {
    raw: ALERT,
    priority: 29,
    timestamp: 'Nov 23 01:16:19',
    ident: 'portsnare',
    pid: 15118,
    message: 'attackalert: Connect from host: 10.1.2.3/10.1.2.3 to TCP port: 1',
  });
  assert.deepEqual(sink.messages(), [rec.message]);
  assert.deepEqual(sink.failures(), []);

  // Space-padded day, as glibc writes it; count waits for several matches.
  await sendDatagram(sink.path, '<30>Jan  5 09:03:07 portsnare[7]: blocked 10.1.2.3');
  await sendDatagram(sink.path, '<30>Jan  5 09:03:08 portsnare[7]: blocked 10.1.2.4');
  const blocked = await sink.waitForMessage(/^blocked /, { count: 2 });
  assert.deepEqual(
    blocked.map((r) => [r.timestamp, r.message]),
    [
      ['Jan  5 09:03:07', 'blocked 10.1.2.3'],
      ['Jan  5 09:03:08', 'blocked 10.1.2.4'],
    ],
  );
  assert.equal(sink.records().length, 3);

  await sink.close();
  assert.equal(existsSync(sink.path), false, 'socket file removed on close');
  await sink.close(); // idempotent
});

void test('syslog sink: a malformed datagram is surfaced, not dropped', async (t) => {
  const sink = await createSyslogSink(join(dir, 'log2'));
  t.after(() => sink.close());

  await sendDatagram(sink.path, ALERT);
  await sink.waitForMessage('attackalert');
  await sendDatagram(sink.path, 'portsnare: no header at all');
  await assert.rejects(
    sink.waitForMessage('never sent', { timeoutMs: 2000 }),
    (err: unknown) => err instanceof SyslogParseError && err.message.includes('portsnare: no header at all'),
  );
  assert.throws(() => sink.records(), SyslogParseError);
  assert.throws(() => sink.messages(), /not valid RFC 3164/);
  assert.deepEqual(
    sink.failures().map((f) => f.raw),
    ['portsnare: no header at all'],
  );
});

void test('syslog sink: strict parser rejects near misses', () => {
  for (const bad of [
    '<29>Nov 03 01:16:19 portsnare[1]: zero-padded day', // glibc pads with a space
    '<29>Nov 23 01:16:19 portsnare: no pid',
    '<29>Nov 23 01:16:19 portsnare[1]: trailing newline\n',
    '<192>Nov 23 01:16:19 portsnare[1]: priority out of range',
    '<29>2024-11-23T01:16:19Z host portsnare[1]: RFC 5424-ish',
  ]) {
    assert.equal(typeof parseSyslogRecord(bad), 'string', JSON.stringify(bad));
  }
  assert.equal(typeof parseSyslogRecord('<0>Dec 31 23:59:59 a[0]: '), 'object');
});

void test('syslog sink: waitForMessage times out with a clear error', async (t) => {
  const sink = await createSyslogSink(join(dir, 'log3'));
  t.after(() => sink.close());
  await sendDatagram(sink.path, ALERT);
  await sink.waitForMessage('attackalert');

  const started = Date.now();
  await assert.rejects(sink.waitForMessage(/UDP port: 9/, { timeoutMs: 300, count: 2 }), (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.match(
      err.message,
      /timed out after 300 ms waiting for 2 message\(s\) matching \/UDP port: 9\/; got 0/,
    );
    assert.match(err.message, /attackalert: Connect from host/); // lists what did arrive
    return true;
  });
  assert.ok(Date.now() - started >= 290);
});

void test('syslog sink: binding an existing path fails clearly', async (t) => {
  const sink = await createSyslogSink(join(dir, 'log4'));
  t.after(() => sink.close());
  await assert.rejects(createSyslogSink(sink.path), /cannot bind .*log4/);
});
