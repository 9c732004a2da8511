import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSyslogLine, yearFor } from './syslog-line.ts';

const NOW = new Date(2025, 10, 23, 12, 0, 0);

test('an RFC 3164 line: time in the current year, host, program, pid, message', () => {
  const l = parseSyslogLine(
    'Nov 22 10:05:10 host sshd[3001]: Invalid user admin from 198.51.100.23 port 51234',
    NOW,
  );
  assert.deepEqual(l, {
    time: new Date(2025, 10, 22, 10, 5, 10).getTime(),
    host: 'host',
    program: 'sshd',
    pid: 3001,
    message: 'Invalid user admin from 198.51.100.23 port 51234',
  });
});

test('a tag without pid and a space-padded day', () => {
  const l = parseSyslogLine('Nov  2 10:05:10 host kernel: [UFW BLOCK] IN=eth0', NOW);
  assert.equal(l?.program, 'kernel');
  assert.equal(l?.pid, null);
  assert.equal(new Date(l.time).getDate(), 2);
});

test('postfix/smtpd keeps its slash; RFC 3339 stamps carry their zone', () => {
  const l = parseSyslogLine('2025-11-22T10:00:01.000000+00:00 host postfix/smtpd[4001]: connect from x', NOW);
  assert.equal(l?.program, 'postfix/smtpd');
  assert.equal(l?.time, Date.UTC(2025, 10, 22, 10, 0, 1));
});

test('a December line read in January belongs to the previous year', () => {
  assert.equal(yearFor(11, 31, new Date(2026, 0, 1, 0, 5)), 2025);
  assert.equal(yearFor(0, 1, new Date(2026, 0, 1, 0, 5)), 2026);
});

test('a line without a syslog head is null', () => {
  assert.equal(parseSyslogLine('garbage', NOW), null);
  assert.equal(parseSyslogLine('Foo 22 10:05:10 host x: y', NOW), null);
});
