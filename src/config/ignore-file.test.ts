import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cidrContains, formatCidr } from '../net/address.ts';
import { formatDiagnostic } from './diagnostic.ts';
import { loadIgnoreFile, parseIgnoreText } from './ignore-file.ts';

const F = '/etc/portsentry/portsentry.ignore';

test('reads Debian static entries, IPv6, CIDR, comments and leading spaces', () => {
  const file = parseIgnoreText(
    F,
    [
      '# header',
      '127.0.0.1/32',
      '0.0.0.0',
      '10.231.0.77/24   # office',
      '  192.0.2.1',
      '2001:db8::/32',
      '',
      '\t',
    ].join('\n'),
  );
  assert.deepEqual(file.diagnostics, []);
  assert.deepEqual(
    file.entries.map((e) => e.line),
    [2, 3, 4, 5, 6],
  );
  const covers = (address: string) => file.entries.some((e) => cidrContains(e.cidr, address));
  assert.ok(covers('10.231.0.2'));
  assert.ok(covers('192.0.2.1'));
  assert.ok(covers('2001:db8:ffff::1'));
  assert.ok(!covers('10.231.1.2'));
  assert.ok(!covers('198.51.100.1'));
});

test('unusable lines are reported with their line and skipped; /0 is honoured with a warning', () => {
  const file = parseIgnoreText(
    F,
    ['10.0.0.1/33', 'attacker.example', '10/8', '1.2.3.4 5.6.7.8', '0.0.0.0/0'].join('\n'),
  );
  assert.deepEqual(file.diagnostics.map(formatDiagnostic), [
    `warning: ${F}:1: invalid netmask "/33" (expected /0 to /32); entry skipped`,
    `warning: ${F}:2: "attacker.example" is not an IPv4 or IPv6 address; entry skipped`,
    `warning: ${F}:3: "10" is not an IPv4 or IPv6 address; entry skipped`,
    `warning: ${F}:4: "1.2.3.4 5.6.7.8": one address per line; entry skipped`,
    `warning: ${F}:5: "0.0.0.0/0" covers every IPv4 address: no such host will ever be acted on`,
  ]);
  assert.equal(file.entries.length, 1);
  assert.ok(cidrContains(file.entries[0]!.cidr, '203.0.113.50'));
});

test('a missing ignore file is a warning; an unreadable one is an error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-ignore-'));
  const missing = await loadIgnoreFile(join(dir, 'none'));
  assert.equal(missing.diagnostics[0]?.severity, 'warning');
  const dirAsFile = await loadIgnoreFile(dir);
  assert.equal(dirAsFile.diagnostics[0]?.severity, 'error');
  assert.match(formatDiagnostic(dirAsFile.diagnostics[0]), /is a directory, not a regular file; not read/);
  const path = join(dir, 'portsentry.ignore');
  await writeFile(path, '192.0.2.0/24\n');
  await chmod(path, 0o600);
  assert.equal((await loadIgnoreFile(path)).entries.length, 1);
});

test('hostile input never throws', () => {
  const junk = Array.from({ length: 2000 }, (_, i) => String.fromCharCode((i * 31) % 0x3000)).join('');
  const file = parseIgnoreText(F, `${junk}\n${'1'.repeat(100000)}\n::ffff:1.2.3.4/200\n`);
  assert.ok(file.diagnostics.length >= 2);
});

test('IPv4-mapped entries: ::ffff:0:0/96 is every IPv4 address; ::ffff:a.b.c.d/24 is refused with the fix', () => {
  const file = parseIgnoreText(F, '::ffff:0:0/96\n::ffff:10.99.1.0/24\n::ffff:10.99.2.0/120\n');
  assert.deepEqual(file.diagnostics.map(formatDiagnostic), [
    `warning: ${F}:1: "::ffff:0:0/96" covers every IPv4 address: no such host will ever be acted on`,
    `warning: ${F}:2: "::ffff:10.99.1.0/24": an IPv4-mapped address takes a prefix of /96 to /128 (as IPv6 this is a /24, far more than the IPv4 block); write 10.99.1.0/24 or ::ffff:10.99.1.0/120; entry skipped`,
  ]);
  assert.equal(file.count, 2);
  assert.deepEqual(
    file.entries.map((e) => [formatCidr(e.cidr), e.line]),
    [
      ['0.0.0.0/0', 1],
      ['10.99.2.0/24', 3],
    ],
  );
  assert.ok(file.set.has('198.51.100.1'));
  assert.ok(!file.set.has('2001:db8::1'));
});

test('the entries and the ready set agree; entries survive the compact store', () => {
  const text = '10.0.0.77/24\n2001:db8::5/64\n192.0.2.1\n::1\n';
  const file = parseIgnoreText(F, text);
  assert.deepEqual(
    file.entries.map((e) => `${formatCidr(e.cidr)}@${e.line}`),
    ['10.0.0.0/24@1', '2001:db8::/64@2', '192.0.2.1/32@3', '::1/128@4'],
  );
  for (const a of ['10.0.0.9', '2001:db8::ffff', '192.0.2.1', '::1', '10.0.1.1', '2001:db9::1']) {
    assert.equal(
      file.set.has(a),
      file.entries.some((e) => cidrContains(e.cidr, a)),
      a,
    );
  }
});
