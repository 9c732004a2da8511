// `portsnare logcheck` as a user runs it, for what the fixtures do not show: a failed delivery
// leaves the offsets where they were (the next run mails the same lines), -t leaves them too, a
// config it cannot read names file, line and variable and exits 1 before reading any log, and root
// is refused with logcheck's remedy.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PORTSNARE_BIN } from '../helpers/daemon.ts';
import {
  asUser,
  chownTree,
  copyStockRules,
  lockConf,
  logcheckUser,
  stockRulesAvailable,
} from '../helpers/logcheck-rules.ts';

const user = logcheckUser();

function scratch(): string {
  const w = mkdtempSync(join(tmpdir(), 'psn-lcrun-'));
  chmodSync(w, 0o755);
  copyStockRules(join(w, 'rules'));
  mkdirSync(join(w, 'state'));
  mkdirSync(join(w, 'bin'));
  writeFileSync(
    join(w, 'c.conf'),
    `DATE="2025-11-22 11:02 +0000"\nFQDN=0\nSENDMAILTO="admin@example.org"\n${lockConf(w, user)}`,
  );
  writeFileSync(join(w, 'syslog'), 'Nov 22 11:00:01 host myapp[1]: something unusual happened\n');
  return w;
}

function sendmail(w: string, exitCode: number): void {
  const script = `#!/bin/sh\ncat >> "${join(w, 'mailbox')}"\necho "mail refused" >&2\nexit ${exitCode}\n`;
  writeFileSync(join(w, 'bin', 'sendmail'), script);
  chmodSync(join(w, 'bin', 'sendmail'), 0o755);
}

/** The scratch tree's conf, rules, state and log, as both logcheck and `portsnare logcheck` take them. */
const treeArgs = (w: string) => [
  '-c',
  join(w, 'c.conf'),
  '-r',
  join(w, 'rules'),
  '-S',
  join(w, 'state'),
  '-l',
  join(w, 'syslog'),
];

function run(w: string, extra: string[] = []) {
  if (user) chownTree(w, user);
  const argv = asUser(user, [
    process.execPath,
    PORTSNARE_BIN,
    'logcheck',
    ...treeArgs(w),
    '-s',
    '-H',
    'host.example.org',
    ...extra,
  ]);
  const env = { ...process.env, PATH: `${join(w, 'bin')}:${process.env['PATH'] ?? ''}` };
  return spawnSync(argv[0]!, argv.slice(1), { cwd: w, env, encoding: 'utf8' });
}

const offsets = (w: string) =>
  readdirSync(join(w, 'state'))
    .filter((n) => n.startsWith('offset.'))
    .map((n) => readFileSync(join(w, 'state', n), 'utf8'));

test('a failed delivery moves no offset; the next run mails the same lines, then nothing', (t) => {
  assert.ok(stockRulesAvailable(), 'logcheck-database is not installed: .ci/run installs it');
  const w = scratch();
  t.after(() => rmSync(w, { recursive: true, force: true }));
  sendmail(w, 75);
  const failed = run(w);
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /sendmail.*(75|mail refused)/s);
  assert.deepEqual(offsets(w), [], 'no offset written');
  sendmail(w, 0);
  rmSync(join(w, 'mailbox'));
  const delivered = run(w);
  assert.equal(delivered.status, 0, delivered.stderr);
  const mail = readFileSync(join(w, 'mailbox'), 'utf8');
  assert.match(
    mail,
    /^To: admin@example\.org\nSubject: host\.example\.org 2025-11-22 11:02 \+0000 System Events\n/,
  );
  assert.match(mail, /myapp\[1\]: something unusual happened/);
  assert.equal(offsets(w).length, 1);
  rmSync(join(w, 'mailbox'));
  assert.equal(run(w).status, 0);
  assert.throws(() => readFileSync(join(w, 'mailbox')), /ENOENT/, 'nothing new, no mail');
});

test('-t reports the same lines every time and writes no offset', (t) => {
  const w = scratch();
  t.after(() => rmSync(w, { recursive: true, force: true }));
  const first = run(w, ['-o', '-t']);
  const second = run(w, ['-o', '-t']);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /something unusual happened/);
  assert.equal(second.stdout, first.stdout);
  assert.deepEqual(offsets(w), []);
});

test('a conf it cannot read is an error naming file, line and variable, before any log is read', (t) => {
  const w = scratch();
  t.after(() => rmSync(w, { recursive: true, force: true }));
  writeFileSync(join(w, 'c.conf'), 'FQDN=0\nSENDMAILTO="$(cat /etc/shadow)"\n');
  const r = run(w, ['-o']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /c\.conf:2: SENDMAILTO: /);
  assert.equal(r.stdout, '');
  assert.deepEqual(offsets(w), []);
});

test('root is refused, as logcheck refuses it, with the remedy; anyone else is not', () => {
  const r = spawnSync(process.execPath, [PORTSNARE_BIN, 'logcheck', '-o', '-l', '/nonexistent.log'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 1);
  if (process.getuid?.() === 0) {
    assert.match(
      r.stdout,
      /should not be run as root\. Use su to invoke it:\nsu -s \/bin\/bash -c "portsnare logcheck -o -l \/nonexistent\.log" logcheck\n/,
    );
  } else {
    assert.doesNotMatch(r.stdout, /should not be run as root/);
    assert.match(r.stderr, /\/nonexistent\.log/);
  }
});

test('a failed run mails logcheck error mail, without the environment logcheck dumps into it', (t) => {
  assert.ok(stockRulesAvailable(), 'logcheck-database is not installed: .ci/run installs it');
  const w = scratch();
  t.after(() => rmSync(w, { recursive: true, force: true }));
  sendmail(w, 0);
  writeFileSync(join(w, 'rules', 'ignore.d.server', 'local-broken'), 'myapp\\[[0-9]+\\]: (unbalanced\n');
  const r = run(w);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /local-broken/);
  const mail = readFileSync(join(w, 'mailbox'), 'utf8');
  assert.match(
    mail,
    /^Subject: Logcheck: host\.example\.org 2025-11-22 11:02 \+0000 exiting due to errors$/m,
  );
  assert.match(mail, /^Logcheck failed: Your log entries may not have been checked\.$/m);
  assert.match(mail, /local-broken/);
  assert.doesNotMatch(mail, /PATH=|declare -x/, 'no environment in the mail');
  assert.deepEqual(offsets(w), []);
  // With -o nothing is mailed, as logcheck.
  rmSync(join(w, 'mailbox'));
  assert.equal(run(w, ['-o']).status, 1);
  assert.throws(() => readFileSync(join(w, 'mailbox')));
});

test('the run lock: a held one stops the run; stale ones are taken over; logcheck 1.4.2 itself runs through it', (t) => {
  assert.ok(stockRulesAvailable(), 'logcheck-database is not installed: .ci/run installs it');
  const w = scratch();
  t.after(() => rmSync(w, { recursive: true, force: true }));
  sendmail(w, 0);
  const lock = join(w, 'lock', 'logcheck.lock');
  // A lock as lockfile-create makes it (no pid), fresh: taken.
  writeFileSync(lock, '');
  const held = run(w, ['-o']);
  assert.equal(held.status, 1);
  assert.match(held.stderr, /Another logcheck process is still running/);
  assert.deepEqual(offsets(w), []);
  // Untouched for 10 minutes: stale (liblockfile's 5-minute rule), taken over, removed at the end.
  const old = new Date(Date.now() - 10 * 60_000);
  utimesSync(lock, old, old);
  const stale = run(w, ['-o']);
  assert.equal(stale.status, 0, stale.stderr);
  assert.throws(() => readFileSync(lock), 'the lock is removed after the run');
  // One of ours whose process is gone: taken over at once.
  writeFileSync(lock, '999999999 portsnare\n');
  if (user) chownTree(w, user);
  assert.equal(run(w, ['-o', '-t']).status, 0);
  // Ours, alive (this test process holds it). Debian's logcheck does not stop at it: lockfile-create
  // exits 4 when the lock is held, and logcheck only treats 1 as a failure, then removes the lock.
  writeFileSync(lock, `${process.pid} portsnare\n`);
  if (user) chownTree(w, user);
  const argv = asUser(user, ['/usr/sbin/logcheck', ...treeArgs(w), '-o', '-t']);
  const real = spawnSync(argv[0]!, argv.slice(1), {
    cwd: w,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(real.status, 0, real.stderr);
  assert.throws(() => readFileSync(lock), 'it ran, and removed the lock it did not hold');
});
