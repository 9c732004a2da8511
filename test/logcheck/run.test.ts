// `portsnare logcheck` as a user runs it, for what the fixtures do not show: a failed delivery
// leaves the offsets where they were (the next run mails the same lines), -t leaves them too, a
// config it cannot read names file, line and variable and exits 1 before reading any log, and root
// is refused with logcheck's remedy.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PORTSNARE_BIN } from '../helpers/daemon.ts';
import { chownTree, copyStockRules, logcheckUser, stockRulesAvailable } from '../helpers/logcheck-rules.ts';

const user = logcheckUser();

function scratch(): string {
  const w = mkdtempSync(join(tmpdir(), 'psn-lcrun-'));
  chmodSync(w, 0o755);
  copyStockRules(join(w, 'rules'));
  mkdirSync(join(w, 'state'));
  mkdirSync(join(w, 'bin'));
  writeFileSync(join(w, 'c.conf'), 'DATE="2025-11-22 11:02 +0000"\nFQDN=0\nSENDMAILTO="admin@example.org"\n');
  writeFileSync(join(w, 'syslog'), 'Nov 22 11:00:01 host myapp[1]: something unusual happened\n');
  return w;
}

function sendmail(w: string, exitCode: number): void {
  const script = `#!/bin/sh\ncat >> "${join(w, 'mailbox')}"\necho "mail refused" >&2\nexit ${exitCode}\n`;
  writeFileSync(join(w, 'bin', 'sendmail'), script);
  chmodSync(join(w, 'bin', 'sendmail'), 0o755);
}

function run(w: string, extra: string[] = []) {
  if (user) chownTree(w, user);
  const args = [
    'logcheck',
    '-c',
    join(w, 'c.conf'),
    '-r',
    join(w, 'rules'),
    '-S',
    join(w, 'state'),
    '-l',
    join(w, 'syslog'),
    '-s',
    '-H',
    'host.example.org',
    ...extra,
  ];
  const argv = user
    ? [
        'setpriv',
        `--reuid=${user.uid}`,
        `--regid=${user.gid}`,
        '--init-groups',
        process.execPath,
        PORTSNARE_BIN,
        ...args,
      ]
    : [process.execPath, PORTSNARE_BIN, ...args];
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
