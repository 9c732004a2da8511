import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createSyslogSink } from '../../test/helpers/syslog-sink.ts';
import { createAlertLog } from './alert-log.ts';
import { formatSyslogRecord, SyslogWriter, syslogTimestamp } from './syslog.ts';

process.env.TZ = 'UTC';

test('glibc timestamp: space-padded day, local time, no year', () => {
  assert.equal(syslogTimestamp(new Date(Date.UTC(2026, 10, 3, 1, 2, 3))), 'Nov  3 01:02:03');
  assert.equal(syslogTimestamp(new Date(Date.UTC(2026, 10, 23, 1, 16, 19))), 'Nov 23 01:16:19');
});

test('record bytes match what 1.2 sent through syslog(3)', () => {
  const date = new Date(Date.UTC(2026, 10, 23, 1, 16, 19));
  assert.equal(
    formatSyslogRecord('attackalert: TCP SYN/Normal scan from host: 10.231.0.2/10.231.0.2 to TCP port: 1', {
      ident: 'portsentry',
      pid: 15118,
      date,
    }),
    '<29>Nov 23 01:16:19 portsentry[15118]: attackalert: TCP SYN/Normal scan from host: 10.231.0.2/10.231.0.2 to TCP port: 1',
  );
});

test('the writer delivers every record in order to the configured socket, and mirrors to a stream', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-syslog-'));
  const sink = await createSyslogSink(join(dir, 'log'));
  t.after(() => sink.close());
  const mirrored: string[] = [];
  const log = createAlertLog({
    ident: 'portsnare',
    pid: 4242,
    syslog: new SyslogWriter(sink.path),
    mirror: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        mirrored.push(chunk.toString());
        callback();
      },
    }),
  });
  for (let port = 1; port <= 200; port++) log.log({ kind: 'listen', protocol: 'tcp', port });
  log.log({ kind: 'active' });
  await sink.waitForMessage('adminalert: PortSentry is now active and listening.');
  const records = sink.records();
  assert.equal(records.length, 201);
  assert.deepEqual(
    records.slice(0, 3).map((r) => [r.priority, r.ident, r.pid, r.message]),
    [1, 2, 3].map((p) => [29, 'portsnare', 4242, `adminalert: Going into listen mode on TCP port: ${p}`]),
  );
  assert.equal(mirrored.length, 201);
  assert.match(
    mirrored[0] ?? '',
    /^\w{3} [ \d]\d \d\d:\d\d:\d\d portsnare\[4242\]: adminalert: Going into listen mode on TCP port: 1\n$/,
  );
  log.close();
});

test('a missing syslog socket never throws: records are counted as dropped', () => {
  const writer = new SyslogWriter('/nonexistent/dev-log');
  for (let i = 0; i < 10; i++) writer.write(`<29>Nov 23 01:16:19 portsnare[1]: line ${i}`);
  assert.equal(writer.stats.sent, 0);
  assert.equal(writer.stats.dropped, 10);
  writer.close();
});

test('control characters from files or names are escaped as rsyslog does (#ooo); printable text is unchanged', () => {
  const date = new Date(Date.UTC(2026, 10, 23, 1, 16, 19));
  const record = formatSyslogRecord('adminalert: bad entry "10.0.0.1\x00\x1b[2Jx\x7f\ty"', {
    ident: 'portsnare',
    pid: 1,
    date,
  });
  assert.equal(
    record,
    '<29>Nov 23 01:16:19 portsnare[1]: adminalert: bad entry "10.0.0.1#000#033[2Jx#177#011y"',
  );
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(record, /[\x00-\x1f\x7f]/);
});

test('drops are counted and handed out once, when the queue has drained', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-syslog-'));
  const missing = new SyslogWriter(join(dir, 'nobody-listens'), 5);
  for (let i = 0; i < 10; i++) missing.write(`<29>x: ${i}`);
  assert.equal(missing.stats.dropped, 10);
  assert.equal(missing.takeUnreportedDrops(), 10);
  assert.equal(missing.takeUnreportedDrops(), 0, 'each drop is reported once');
  missing.close();

  const sink = await createSyslogSink(join(dir, 'log'));
  t.after(() => sink.close());
  const writer = new SyslogWriter(sink.path, 5);
  writer.write('<29>x: a');
  assert.equal(writer.takeUnreportedDrops(), 0);
  writer.close();
});

test('the log says once how many syslog lines were dropped, counts them as syslog.dropped, and its stderr mirror escapes as syslog does', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-syslog-'));
  const mirrored: string[] = [];
  const writer = new SyslogWriter(join(dir, 'nobody-listens'));
  const log = createAlertLog({
    ident: 'portsnare',
    pid: 7,
    syslog: writer,
    mirror: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        mirrored.push(chunk.toString());
        callback();
      },
    }),
  });
  t.after(() => log.close());
  for (let port = 1; port <= 3; port++) log.log({ kind: 'listen', protocol: 'tcp', port });
  assert.deepEqual(log.counters(), { 'syslog.dropped': 3 });
  log.notify();
  const warning = 'adminalert: WARNING: 3 syslog line(s) were dropped (socket full or missing)';
  assert.ok(mirrored.at(-1)?.endsWith(`portsnare[7]: ${warning}\n`), mirrored.at(-1));
  // The warning itself went the same way (no socket): counted, said at the next look, never twice.
  assert.deepEqual(log.counters(), { 'syslog.dropped': 4 });
  const before = mirrored.length;
  log.notify();
  assert.ok(mirrored.at(-1)?.includes('WARNING: 1 syslog line(s) were dropped'));
  assert.equal(mirrored.length, before + 1);

  // The mirror shows the escaped text syslog gets, not raw control characters.
  log.log({ kind: 'reloadFailed', reason: 'bad "x\x1b[2J\x00y"' });
  assert.match(mirrored.at(-1) ?? '', /reload failed|Reload failed/);
  assert.ok(mirrored.at(-1)?.endsWith('previous configuration: bad "x#033[2J#000y"\n'), mirrored.at(-1));
});
