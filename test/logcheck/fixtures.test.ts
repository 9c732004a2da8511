// Every fixture the real logcheck 1.4.2 made (../shared/reference/logcheck-fixtures/expected, with
// the exact commands in COMMANDS.tsv), reproduced by running the real `portsnare logcheck` with the
// same arguments on the same files, set up as the fixtures' regenerate.sh set them up. Run as the
// `logcheck` user (setpriv) when the test runs as root, as logcheck itself must be.
// Where the issue asks portsnare to differ (a broken rule is an error; rotation scenarios where
// logcheck loses or mangles lines) the test says so and checks the better answer.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { PORTSNARE_BIN, REPO_ROOT } from '../helpers/daemon.ts';
import {
  chownTree,
  copyStockRules,
  lockConf,
  logcheckUser,
  stockRulesAvailable,
} from '../helpers/logcheck-rules.ts';

// The fixtures of ../shared/reference/logcheck-fixtures, copied into the repository (CI has no ../shared).
const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'logcheck');
const EXPECTED = join(FIXTURES, 'expected');

interface Fixture {
  name: string;
  rc: number;
  args: string[];
  mail: boolean;
}

function fixtures(): Fixture[] {
  return readFileSync(join(EXPECTED, 'COMMANDS.tsv'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [name, rc, command] = line.split('\t') as [string, string, string];
      const mail = command.startsWith('PATH=<shim>');
      const words = command.replace(/^PATH=<shim>:\$PATH /, '').split(' ');
      assert.equal(words[0], 'logcheck', line);
      return { name, rc: Number(rc.replace('rc=', '')), args: words.slice(1), mail };
    });
}

function chownTo(path: string, user: { uid: number; gid: number } | null): void {
  if (user) chownTree(path, user);
}

const sampleLines = (w: string) => readFileSync(join(w, 'sample.log'), 'utf8').split('\n').slice(0, -1);

/** The scratch tree of regenerate.sh: inputs, confs, lists, the shim dir. */
function setup(user: { uid: number; gid: number } | null): string {
  const w = mkdtempSync(join(tmpdir(), 'psn-lcfix-'));
  for (const d of ['bin', 'state', 'emptyd']) mkdirSync(join(w, d));
  for (const f of readdirSync(join(FIXTURES, 'input'))) cpSync(join(FIXTURES, 'input', f), join(w, f));
  const lock = lockConf(w, user);
  for (const f of readdirSync(join(FIXTURES, 'conf'))) {
    writeFileSync(join(w, f), `${readFileSync(join(FIXTURES, 'conf', f), 'utf8')}${lock}`);
  }
  // The mail fixtures: portsnare hands the message to `sendmail` as mime-construct does; this one
  // keeps it (and its arguments) for the test, as the fixtures' mime-construct --output shim printed it.
  writeFileSync(
    join(w, 'bin', 'sendmail'),
    `#!/bin/sh\necho "$@" > "${join(w, 'sent.args')}"\ncat > "${join(w, 'sent.eml')}"\n`,
  );
  chmodSync(join(w, 'bin', 'sendmail'), 0o755);
  // SYSLOGSUMMARY's demo summariser, as regenerate.sh set it up (summary.conf points at $PWD/bin).
  if (existsSync('/usr/share/doc/logcheck/log-summary-ssh')) {
    cpSync('/usr/share/doc/logcheck/log-summary-ssh', join(w, 'bin', 'log-summary-ssh'));
    chmodSync(join(w, 'bin', 'log-summary-ssh'), 0o755);
  }
  const lines = sampleLines(w);
  const auth = / (sshd|sudo|su)(\[[0-9]+\])?: /;
  writeFileSync(
    join(w, 'auth.log'),
    lines
      .filter((l) => auth.test(l))
      .map((l) => `${l}\n`)
      .join(''),
  );
  writeFileSync(
    join(w, 'syslog'),
    lines
      .filter((l) => !auth.test(l))
      .map((l) => `${l}\n`)
      .join(''),
  );
  writeFileSync(join(w, 'two.logfiles'), `${join(w, 'syslog')}\n${join(w, 'auth.log')}\n`);
  writeFileSync(join(w, 'mixed.logfiles'), `${join(w, 'sample.log')}\n${join(w, 'sample-rfc3339.log')}\n`);
  const cron = lines.filter((l) => / CRON\[/.test(l) && !/No MTA/.test(l));
  writeFileSync(join(w, 'cron-only.log'), cron.map((l) => `${l}\n`).join(''));
  // The stock rules as the fixture host had them (see helpers/logcheck-rules), passed with -r where
  // the fixture's command had none (its logcheck read the same tree from /etc/logcheck).
  copyStockRules(join(w, 'rules'));
  copyStockRules(join(w, 'rules-broken'));
  writeFileSync(
    join(w, 'rules-broken', 'ignore.d.server', 'local-broken'),
    'myapp\\[[0-9]+\\]: (unbalanced\n',
  );
  copyStockRules(join(w, 'rules-ps'));
  for (const d of ['cracking.d', 'violations.d', 'ignore.d.server']) {
    cpSync(join(FIXTURES, 'proposed-rules', d, 'portsentry'), join(w, 'rules-ps', d, 'portsentry'));
  }
  chownTo(w, user);
  chmodSync(w, 0o755);
  return w;
}

function run(w: string, args: string[], user: { uid: number; gid: number } | null, mail = false) {
  const withRules = args.includes('-r') ? args : ['-r', join(w, 'rules'), ...args];
  const argv = [PORTSNARE_BIN, 'logcheck', ...withRules.map((a) => a.replaceAll('/tmp/lcfix', w))];
  const env = {
    ...process.env,
    PATH: mail ? `${join(w, 'bin')}:${process.env['PATH'] ?? ''}` : (process.env['PATH'] ?? ''),
  };
  const cmd = user
    ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', process.execPath, ...argv]
    : [process.execPath, ...argv];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: w, env, encoding: 'utf8' });
  return {
    code: r.status,
    stdout: r.stdout.replaceAll(w, '/tmp/lcfix'),
    stderr: r.stderr.replaceAll(w, '/tmp/lcfix'),
  };
}

const part = (p: 'A' | 'B' | 'C', i: number, note: string) =>
  `Nov 22 11:${p === 'A' ? '00' : p === 'B' ? '10' : '20'}:0${i} host rotdemo[77]: part ${p} line ${i} (${note})`;

/** regenerate.sh's rotdemo actions, in node. */
const ROTATIONS: Record<string, { rotate: (d: string) => void; partC?: number; conf?: string }> = {
  logrotate: { rotate: (d) => mvNew(d, 'syslog.1') },
  'logrotate-classic-logtail': { rotate: (d) => mvNew(d, 'syslog.1'), conf: 'logtail1.conf' },
  dateext: { rotate: (d) => mvNew(d, 'syslog-20251122') },
  'compress-nodelay': {
    rotate: (d) => {
      mvNew(d, 'syslog.1');
      gzipFile(join(d, 'syslog.1'));
    },
  },
  savelog: {
    rotate: (d) => {
      writeFileSync(join(d, 'syslog.1.gz'), gzipSync('old\n'));
      spawnSync('touch', ['-d', '2025-11-21', join(d, 'syslog.1.gz')]);
      mvNew(d, 'syslog.0');
    },
  },
  'savelog-first': { rotate: (d) => mvNew(d, 'syslog.0') },
  'inode-reuse': {
    rotate: (d) => {
      spawnSync('mv', [join(d, 'syslog'), join(d, 'syslog.old')]);
      gzipFile(join(d, 'syslog.old'));
      writeFileSync(join(d, 'syslog'), '');
    },
  },
  'copytruncate-grown': { rotate: (d) => copyTruncate(d), partC: 3 },
  'copytruncate-shrunk': { rotate: (d) => copyTruncate(d), partC: 1 },
};

function mvNew(d: string, to: string): void {
  spawnSync('mv', [join(d, 'syslog'), join(d, to)]);
  writeFileSync(join(d, 'syslog'), '');
}

function copyTruncate(d: string): void {
  cpSync(join(d, 'syslog'), join(d, 'syslog.1'));
  writeFileSync(join(d, 'syslog'), '');
}

function gzipFile(path: string): void {
  writeFileSync(`${path}.gz`, gzipSync(readFileSync(path)));
  rmSync(path);
}

const user = logcheckUser();
const all = fixtures();

test('the fixtures run through portsnare logcheck as they ran through logcheck 1.4.2', async (t) => {
  assert.ok(
    stockRulesAvailable(),
    'logcheck-database or the cached rsyslog rule is missing: .ci/run installs them',
  );
  const w = setup(user);
  t.after(() => rmSync(w, { recursive: true, force: true }));
  for (const f of all.filter((x) => !x.name.startsWith('rotation-') && !x.name.startsWith('partial-line'))) {
    await t.test(f.name, () => {
      const expected = readFileSync(join(EXPECTED, f.name), 'utf8');
      const r = run(w, f.args, user, f.mail);
      if (f.name === 'report-server-broken-ignore-rule.txt') {
        // The one deliberate difference: logcheck silently drops System Events; portsnare refuses.
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /local-broken:1\b.*(unbalanced|Unmatched|missing \))/i);
        assert.equal(r.stdout, '');
        return;
      }
      if (f.mail) {
        assert.equal(r.code, f.rc, r.stderr);
        assert.equal(r.stdout, '');
        assert.equal(readFileSync(join(w, 'sent.eml'), 'utf8'), expected);
        assert.equal(
          readFileSync(join(w, 'sent.args'), 'utf8'),
          '-oi root\n',
          'sendmail -oi <SENDMAILTO>, as mime-construct runs it',
        );
        rmSync(join(w, 'sent.eml'));
        return;
      }
      if (f.name === 'report-paranoid-summary.txt') {
        // log-summary-ssh (perl) prints its per-host counts in hash order, which perl randomises per
        // process: the same lines, in an order no run repeats.
        assert.equal(r.code, f.rc, r.stderr);
        const sorted = (text: string) => text.split('\n').sort();
        assert.deepEqual(sorted(r.stdout), sorted(expected));
        return;
      }
      assert.equal(r.stdout + (r.code === f.rc ? '' : `\n[exit ${r.code}: ${r.stderr}]`), expected);
    });
  }
});

test('rotation and half-written lines: nothing lost, nothing repeated, logcheck matched where it is right', async (t) => {
  const conf = (w: string, name: string) => join(w, ROTATIONS[name]?.conf ?? 'fixture.conf');
  for (const [name, scenario] of Object.entries(ROTATIONS)) {
    await t.test(name, () => {
      const w = setup(user);
      try {
        const d = join(w, `rot-${name}`);
        mkdirSync(join(d, 'state'), { recursive: true });
        writeFileSync(join(d, 'syslog'), [1, 2, 3].map((i) => `${part('A', i, 'before run 1')}\n`).join(''));
        chownTo(d, user);
        const args = ['-c', conf(w, name), '-o', '-S', join(d, 'state'), '-l', join(d, 'syslog'), '-s'];
        const run1 = run(w, args, user, false);
        assert.equal(run1.stdout, readFileSync(join(EXPECTED, `rotation-${name}-run1.txt`), 'utf8'));
        const offsetFile = readdirSync(join(d, 'state')).find(
          (n) => n.startsWith('offset') && !n.includes('.portsnare'),
        );
        assert.ok(offsetFile, 'an offset file in the state dir');
        // logtail2's file: inode and offset, as the fixture shows (inode numbers differ here).
        assert.match(readFileSync(join(d, 'state', offsetFile), 'utf8'), /^\d+\n189\n$/);
        writeFileSync(
          join(d, 'syslog'),
          [1, 2, 3].map((i) => `${part('B', i, 'appended after run 1, then rotated away')}\n`).join(''),
          { flag: 'a' },
        );
        scenario.rotate(d);
        const c = scenario.partC ?? 3;
        writeFileSync(
          join(d, 'syslog'),
          Array.from({ length: c }, (_, i) => `${part('C', i + 1, 'new file after rotation')}\n`).join(''),
          { flag: 'a' },
        );
        chownTo(d, user);
        const run2 = run(w, args, user, false);
        const shown = run2.stdout.split('\n').filter((l) => l.includes('rotdemo[77]'));
        const want = [1, 2, 3].map((i) => part('B', i, 'appended after run 1, then rotated away'));
        want.push(...Array.from({ length: c }, (_, i) => part('C', i + 1, 'new file after rotation')));
        assert.deepEqual(shown, want, `run 2 of ${name}:\n${run2.stdout}${run2.stderr}`);
        const logcheckRun2 = readFileSync(join(EXPECTED, `rotation-${name}-run2.txt`), 'utf8');
        const logcheckShown = logcheckRun2.split('\n').filter((l) => l.includes('rotdemo[77]'));
        if (logcheckShown.join('\n') === want.join('\n'))
          assert.equal(run2.stdout, logcheckRun2, 'as logcheck where logcheck is right');
        else
          t.diagnostic(
            `${name}: logcheck showed ${logcheckShown.length} line(s) where ${want.length} were new (lost: ${want.filter((l) => !logcheckShown.includes(l)).length})`,
          );
        // A third run has nothing.
        assert.equal(run(w, args, user, false).stdout, '');
      } finally {
        rmSync(w, { recursive: true, force: true });
      }
    });
  }
  await t.test('partial line', () => {
    const w = setup(user);
    try {
      const d = join(w, 'partial');
      mkdirSync(join(d, 'state'), { recursive: true });
      writeFileSync(join(d, 'syslog'), 'Nov 22 12:00:01 host partial[1]: this line is being writ');
      chownTo(d, user);
      const args = [
        '-c',
        join(w, 'fixture.conf'),
        '-o',
        '-S',
        join(d, 'state'),
        '-l',
        join(d, 'syslog'),
        '-s',
      ];
      // logcheck prints the first half now and the rest next time; portsnare waits for the whole line.
      assert.equal(run(w, args, user, false).stdout, '');
      writeFileSync(join(d, 'syslog'), 'ten by syslog right now\n', { flag: 'a' });
      const run2 = run(w, args, user, false);
      assert.match(
        run2.stdout,
        /^Nov 22 12:00:01 host partial\[1\]: this line is being written by syslog right now$/m,
      );
    } finally {
      rmSync(w, { recursive: true, force: true });
    }
  });
});
