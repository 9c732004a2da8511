import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSyslogLine } from './syslog-line.ts';
import { normalise, TemplateTable } from './templates.ts';

test('addresses, ports, pids and numbers become placeholders; words with digits stay', () => {
  assert.equal(
    normalise('Accepted publickey for alice from 192.0.2.10 port 50522 ssh2: ED25519 SHA256:abc'),
    'Accepted publickey for alice from <ip> port <n> ssh2: ED25519 SHA256:abc',
  );
  assert.equal(
    normalise('Connect from host: 2001:db8::5/2001:db8::5 to TCP port: 111'),
    'Connect from host: <ip>/<ip> to TCP port: <n>',
  );
  assert.equal(
    normalise('IN=eth0 MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.5 DST=10.0.0.1 LEN=60'),
    'IN=eth0 MAC=<mac> SRC=<ip> DST=<ip> LEN=<n>',
  );
  assert.equal(
    normalise('[ 5420.123456] end_request: I/O error, dev sda, sector 1234567'),
    '[ <n>] end_request: I/O error, dev sda, sector <n>',
  );
  assert.equal(normalise('session 0x1f opened, id deadbeef01'), 'session <hex> opened, id <hex>');
  assert.equal(
    normalise('pam_unix(cron:session): session opened for user root(uid=0)'),
    'pam_unix(cron:session): session opened for user root(uid=<n>)',
  );
  assert.equal(normalise('at 10:15:01 on ::1'), 'at <n> on <ip>');
});

test('a table counts one row per program and template, with first, last and the first line', () => {
  const now = new Date(2025, 10, 23);
  const table = new TemplateTable();
  const lines = [
    'Nov 22 10:05:10 host CRON[100]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)',
    'Nov 22 10:15:10 host CRON[130]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)',
    'Nov 22 10:01:10 host CRON[99]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)',
    'Nov 22 10:05:11 host sshd[7]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)',
    'a line without a head 12',
    'a line without a head 13',
  ];
  for (const l of lines) table.add(l, parseSyslogLine(l, now));
  const rows = table.rows();
  assert.equal(rows.length, 3);
  assert.equal(rows[0]!.program, 'CRON');
  assert.equal(rows[0]!.count, 3);
  assert.equal(rows[0]!.first, new Date(2025, 10, 22, 10, 1, 10).getTime());
  assert.equal(rows[0]!.last, new Date(2025, 10, 22, 10, 15, 10).getTime());
  assert.equal(rows[0]!.example, lines[0]);
  assert.deepEqual(
    rows.slice(1).map((r) => [r.program, r.count, r.template]),
    [
      ['', 2, 'a line without a head <n>'],
      ['sshd', 1, 'pam_unix(cron:session): session opened for user root(uid=<n>) by (uid=<n>)'],
    ],
  );
  assert.equal(table.lines, 6);
});

test('a full table counts new templates instead of keeping them', () => {
  const table = new TemplateTable({ maxTemplates: 2 });
  for (const w of ['a', 'b', 'c', 'd', 'a']) table.add(`word ${w}`, null);
  assert.equal(table.rows().length, 2);
  assert.equal(table.overflowLines, 2);
  assert.equal(table.rows()[0]!.count, 2);
});
