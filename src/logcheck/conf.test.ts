import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LOGCHECK_DEFAULTS, parseConf, readConf, reportLevels, type ParseConfOptions } from './conf.ts';

const FIX = new URL('../../test/fixtures/logcheck/', import.meta.url).pathname;
const haveBash = existsSync('/bin/bash');

/** A `date` that must not be called. */
const noDate = (): string => assert.fail('date must not run');

test('stock /etc/logcheck/logcheck.conf (copy): values and the default DATE command', () => {
  const calls: (readonly string[])[] = [];
  const { settings, errors, warnings } = readConf(join(FIX, 'etc/logcheck.conf'), {
    env: {},
    date: (args) => {
      calls.push(args);
      return '2025-11-22 11:02 +0000\n';
    },
  });
  assert.deepEqual(errors, []);
  assert.deepEqual(warnings, []);
  assert.deepEqual(calls, [['+%Y-%m-%d %H:%M %z']]);
  assert.equal(settings.date, '2025-11-22 11:02 +0000');
  assert.equal(settings.reportLevel, 'server');
  assert.equal(settings.sendMailTo, 'logcheck');
  assert.equal(settings.mailAsAttach, 0);
  assert.equal(settings.fqdn, true);
  assert.equal(settings.tmp, '/tmp');
  // Everything else keeps logcheck's built-in default.
  assert.equal(settings.intro, true);
  assert.equal(settings.sortUniq, false);
  assert.equal(settings.supportCrackingIgnore, false);
  assert.equal(settings.ruleDir, '/etc/logcheck');
  assert.equal(settings.syslogSummary, false);
  assert.equal(settings.syslogSummaryProgram, '/usr/bin/syslog-summary');
  assert.equal(settings.attackSubject, 'Security Alerts');
  assert.equal(settings.securitySubject, 'Security Events');
  assert.equal(settings.eventsSubject, 'System Events');
  assert.equal(settings.addTag, false);
  assert.equal(settings.mimeEncoding, '');
  assert.equal(settings.logtail, '/usr/sbin/logtail2');
  assert.equal(settings.stateDir, '/var/lib/logcheck');
  assert.equal(settings.logfilesList, '/etc/logcheck/logcheck.logfiles');
  assert.equal(settings.logfilesListD, '/etc/logcheck/logcheck.logfiles.d');
  assert.equal(settings.logfileFallback, '/var/log/syslog');
  assert.equal(settings.logfile, '');
});

test(
  'the installed /etc/logcheck/logcheck.conf reads without errors',
  { skip: !existsSync('/etc/logcheck/logcheck.conf') && 'not installed' },
  () => {
    const { errors } = readConf('/etc/logcheck/logcheck.conf', { date: () => 'now' });
    assert.deepEqual(errors, []);
  },
);

const fixtureExpect: Record<string, (s: ReturnType<typeof parseConf>['settings']) => void> = {
  'fixture.conf': (s) => {
    assert.equal(s.attackSubject, 'Security Alerts');
    assert.equal(s.logtail, '/usr/sbin/logtail2');
  },
  'addtag.conf': (s) => {
    assert.equal(s.addTag, true);
    assert.equal(s.attackSubject, 'PORTSCAN / ATTACK ALERTS');
  },
  'logtail1.conf': (s) => assert.equal(s.logtail, '/usr/sbin/logtail'),
  'sortuniq.conf': (s) => assert.equal(s.sortUniq, true),
  'summary.conf': (s) => {
    assert.equal(s.syslogSummary, true);
    assert.equal(s.syslogSummaryProgram, '/tmp/lcfix/bin/log-summary-ssh');
  },
};

const confs = readdirSync(join(FIX, 'conf')).filter((f) => f.endsWith('.conf'));
test('every fixture conf has expectations', () =>
  assert.deepEqual(confs.sort(), Object.keys(fixtureExpect).sort()));

for (const name of confs) {
  test(`fixture conf ${name}`, () => {
    // regenerate.sh runs logcheck from the work dir, so $PWD is /tmp/lcfix.
    const { settings, errors, warnings } = readConf(join(FIX, 'conf', name), {
      env: { PWD: '/tmp/lcfix' },
      date: noDate,
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(warnings, []);
    assert.equal(settings.date, '2025-11-22 11:02 +0000');
    assert.equal(settings.fqdn, false);
    assert.equal(settings.sendMailTo, 'root');
    assert.equal(settings.mailAsAttach, 0);
    assert.equal(settings.tmp, '/tmp');
    fixtureExpect[name]!(settings);
  });
}

/** What bash makes of `text` after logcheck's defaults: the named variables' values. */
function bashValues(text: string, names: string[], env: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'lc-conf-'));
  try {
    const file = join(dir, 'c.conf');
    writeFileSync(file, text);
    const prelude = Object.entries(LOGCHECK_DEFAULTS)
      .map(([k, v]) => `${k}='${v}'`)
      .join('\n');
    const script = `${prelude}\n. "$1"\nfor v in "\${@:2}"; do printf '%s=%s\\0' "$v" "\${!v}"; done`;
    const out = execFileSync('/bin/bash', ['--noprofile', '--norc', '-c', script, 'bash', file, ...names], {
      env: { ...env, TZ: 'UTC' },
      // bash takes $PWD from its working directory.
      cwd: env.PWD ?? dir,
    }).toString('utf8');
    const vals: Record<string, string> = {};
    for (const rec of out.split('\0').slice(0, -1)) {
      const eq = rec.indexOf('=');
      vals[rec.slice(0, eq)] = rec.slice(eq + 1);
    }
    return vals;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const EDGE = [
  '# a comment',
  '   # an indented comment',
  'A=plain',
  'B=\'single $A "q" \\n\'',
  'C="double $A ${A}x \\$A \\" \\\\ \\` \\q $"',
  'D=a\\ b\\\\c',
  'E=x#notcomment # comment',
  'F="multi',
  'line"',
  'G=con\\',
  'tinued',
  'export H=exp',
  'I=1 J=$I',
  "K=$'tab\\there\\x41\\101'",
  'L=~/x M=a:~/b',
  'N=$FOO O=$UNSET_VAR P=',
  'SENDMAILTO+=@example.org',
  'R=$ S="$A"\'$A\'$A',
  'T=${HOME}/t ; U=1; V=2 # after',
  'W=$(date -u -d @86400 +%F)',
  "X=`date -u -d @0 +'%Y %H'`",
  'Y="$(date -u -d @0 +"%Y-%m-%d $A")"',
  'export Z',
  '',
  'ATTACKSUBJECT="PORTSCAN / ATTACK ALERTS"\t# trailing comment',
].join('\n');
const EDGE_NAMES = 'A B C D E F G H I J K L M N O P SENDMAILTO R S T U V W X Y ATTACKSUBJECT'.split(' ');
const EDGE_ENV = { HOME: '/home/lc', FOO: 'foo value', PATH: '/usr/bin:/bin' };

/** Runs date for real (argument vector), in UTC like the bash side. */
const utcDate: ParseConfOptions['date'] = (args) =>
  execFileSync('/bin/date', [...args], { env: { TZ: 'UTC' }, encoding: 'utf8' });

test(
  'quoting, comments, continuations, expansions and date: same values as bash',
  { skip: !haveBash && 'no bash' },
  () => {
    const parsed = parseConf(EDGE, 'edge.conf', { env: EDGE_ENV, date: utcDate });
    assert.deepEqual(parsed.errors, []);
    const want = bashValues(EDGE, EDGE_NAMES, EDGE_ENV);
    const got: Record<string, string> = {};
    for (const n of EDGE_NAMES) got[n] = parsed.vars.get(n) ?? '';
    assert.deepEqual(got, want);
    // Spot checks, so a bash difference cannot hide a shared mistake.
    assert.equal(got.C, 'double plain plainx $A " \\ ` \\q $');
    assert.equal(got.E, 'x#notcomment');
    assert.equal(got.F, 'multi\nline');
    assert.equal(got.G, 'continued');
    assert.equal(got.L, '/home/lc/x');
    assert.equal(got.M, 'a:/home/lc/b');
    assert.equal(got.SENDMAILTO, 'root@example.org');
    assert.equal(got.W, '1970-01-02');
    assert.equal(got.X, '1970 00');
    assert.equal(got.Y, '1970-01-01 plain');
    assert.equal(parsed.settings.attackSubject, 'PORTSCAN / ATTACK ALERTS');
    assert.deepEqual([...parsed.exported].sort(), ['H', 'Z']);
  },
);

test('fixture confs: same values as bash', { skip: !haveBash && 'no bash' }, () => {
  const names = [...Object.keys(LOGCHECK_DEFAULTS), 'DATE', 'TMP'];
  for (const name of confs) {
    const text = readFileSync(join(FIX, 'conf', name), 'utf8');
    const env = { PWD: tmpdir(), HOME: '/nonexistent' };
    const parsed = parseConf(text, name, { env, date: noDate });
    const want = bashValues(text, names, env);
    for (const n of names) assert.equal(parsed.vars.get(n) ?? '', want[n], `${name}: ${n}`);
  }
});

test('the default DATE is not run when the file sets DATE, and runs lazily when referenced', () => {
  let n = 0;
  const date = (): string => {
    n++;
    return 'D0';
  };
  assert.equal(parseConf('DATE="fixed"', 'f', { date }).settings.date, 'fixed');
  assert.equal(n, 0);
  assert.equal(parseConf('DATE="$DATE UTC"', 'f', { date }).settings.date, 'D0 UTC');
  assert.equal(n, 1);
});

test('now pins the real date command', () => {
  const r = parseConf("DATE=$(date +'%s')", 'f', { now: new Date(86_400_000) });
  assert.deepEqual(r.errors, []);
  assert.equal(r.settings.date, '86400');
});

test('constructs that cannot be read are diagnostics with file, line and key; the rest applies', () => {
  const text = [
    'A=1', // 1
    'echo hi', // 2
    'if [ -f /x ]; then B=2; fi', // 3
    'ARR=(a b)', // 4
    'H=$(hostname)', // 5
    'N=$((1+2))', // 6
    'P=${A:-d}', // 7
    'S=$(date -s 2020-01-01)', // 8
    'V=$1', // 9
    'R=a|b', // 10
    'C=3', // 11
    'D=4 E=5 some-command', // 12
    "Q='unterminated", // 13
  ].join('\n');
  const r = parseConf(text, 'bad.conf', { env: {}, date: () => 'D' });
  const got = r.errors.map((e) => [e.file, e.line, e.key]);
  assert.deepEqual(got, [
    ['bad.conf', 2, ''],
    ['bad.conf', 3, ''],
    ['bad.conf', 4, 'ARR'],
    ['bad.conf', 5, 'H'],
    ['bad.conf', 6, 'N'],
    ['bad.conf', 7, 'P'],
    ['bad.conf', 8, 'S'],
    ['bad.conf', 9, 'V'],
    ['bad.conf', 10, 'R'],
    ['bad.conf', 12, 'E'],
    ['bad.conf', 13, 'Q'],
  ]);
  assert.match(r.errors[0]!.message, /not an assignment: "echo"/);
  assert.match(r.errors[3]!.message, /only date/);
  assert.match(r.errors[6]!.message, /date argument "-s"/);
  assert.equal(r.vars.get('A'), '1');
  assert.equal(r.vars.get('C'), '3');
  assert.equal(r.vars.has('B'), false);
  assert.equal(r.vars.has('H'), false);
  // `D=4 E=5 some-command` would only set them for the command: the whole line is undone.
  assert.equal(r.vars.has('D'), false);
  assert.equal(r.vars.has('E'), false);
});

test('values are interpreted as logcheck tests them', () => {
  const s = (text: string): ReturnType<typeof parseConf> => parseConf(`DATE=d\n${text}`, 'f', { env: {} });
  assert.equal(s('INTRO=no').settings.intro, false);
  assert.equal(s('INTRO=yes').settings.intro, true);
  assert.equal(s('INTRO=').settings.intro, true);
  assert.equal(s('INTRO=0').settings.intro, false);
  assert.equal(s('INTRO=2').settings.intro, false);
  assert.equal(s('MAILASATTACH=2').settings.mailAsAttach, 2);
  assert.equal(s('MAILASATTACH=1').settings.mailAsAttach, 1);
  assert.equal(s('MAILASATTACH=3').settings.mailAsAttach, 0);
  assert.equal(s('ADDTAG=YES').settings.addTag, false);
  assert.equal(s('FQDN=01').settings.fqdn, true);
  const bad = s('FQDN=yes');
  assert.equal(bad.settings.fqdn, false);
  assert.deepEqual(
    bad.warnings.map((w) => w.key),
    ['FQDN'],
  );
  assert.deepEqual(
    s('REPORTLEVEL=loud').warnings.map((w) => w.key),
    ['REPORTLEVEL'],
  );
  assert.deepEqual(reportLevels('workstation'), ['workstation', 'server', 'paranoid']);
  assert.deepEqual(reportLevels('paranoid'), ['paranoid']);
  assert.equal(reportLevels('loud'), null);
});
