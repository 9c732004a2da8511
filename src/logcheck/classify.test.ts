import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classify, type Section } from './classify.ts';
import { loadRuleTree, RULE_DIRS, RuleFileError, type ReportLevel } from './rules.ts';

const FIX = fileURLToPath(new URL('../../test/fixtures/logcheck', import.meta.url));

/** End of the `sort -k 1,3` key: the end of the third blank-separated field (leading blanks included). */
function keyOf(line: string): string {
  const m = /^(?:\s*\S+){0,3}/u.exec(line);
  return m === null ? '' : m[0];
}

/** The batch as logcheck builds it: `sort -k 1,3 -s` (C.UTF-8: code point order), then trailing blanks stripped. */
function batchOf(file: string, isText = false): string[] {
  const lines = (isText ? file : readFileSync(file, 'utf8')).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const keyed = lines.map((line) => ({ line, key: keyOf(line) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)); // Array.prototype.sort is stable
  return keyed.map(({ line }) =>
    line.replace(/[\t-\r \u1680\u2000-\u2006\u2008-\u200a\u2028\u2029\u205f\u3000]+$/u, ''),
  );
}

/** Several logs as logcheck sorts them: `sort -k 1,3 -s` over their outputs in glob (name) order. */
function batchOfMany(...files: string[]): string[] {
  return batchOf(
    files
      .sort()
      .map((f) => readFileSync(f, 'utf8'))
      .join(''),
    true,
  );
}

/** `sort -u` (C.UTF-8: code point order, whole lines), then trailing blanks stripped. */
function sortUniqBatchOf(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return [...new Set(lines)]
    .sort()
    .map((line) => line.replace(/[\t-\r \u1680\u2000-\u2006\u2008-\u200a\u2028\u2029\u205f\u3000]+$/u, ''));
}

interface Report {
  alerts: Section[];
  events: Section[];
  system: string[];
}

/** The sections of a report made by the real logcheck (-o), intro header skipped. */
function parseReport(file: string): Report {
  const text = readFileSync(file, 'utf8').split('\n');
  const start = text.indexOf('This email is sent by logcheck. If you no longer wish to receive');
  assert.ok(start >= 0, `${file}: no intro header`);
  let i = start + 4; // three header lines and the blank line after them
  const out: Report = { alerts: [], events: [], system: [] };
  while (i < text.length && text[i] !== '') {
    const heading = text[i] as string;
    const underline = text[i + 1] as string;
    const expected = Array.from({ length: heading.length }, (_, k) => (k % 2 === 0 ? '=' : '-')).join('');
    assert.equal(underline, expected, `${file}: underline of ${heading}`);
    i += 2;
    const lines: string[] = [];
    while (i < text.length && text[i] !== '') lines.push(text[i++] as string);
    i++; // the blank line closing the section
    if (heading.startsWith('Security Alerts')) out.alerts.push({ heading, lines });
    else if (heading.startsWith('Security Events')) out.events.push({ heading, lines });
    else if (heading === 'System Events') out.system = lines;
    else assert.fail(`${file}: unknown section ${heading}`);
  }
  return out;
}

function check(ruleDir: string, level: ReportLevel, log: string, report: string, batch = batchOf): void {
  const tree = loadRuleTree({ ruleDir, level });
  const got = classify(batch(join(FIX, 'input', log)), tree);
  const want = parseReport(join(FIX, 'expected', report));
  assert.deepEqual(got.alerts, want.alerts, `${report}: alerts`);
  assert.deepEqual(got.events, want.events, `${report}: events`);
  assert.deepEqual(got.system, want.system, `${report}: system events`);
  assert.deepEqual(got.fired, {
    attack: want.alerts.length > 0,
    security: want.events.length > 0,
    system: want.system.length > 0,
  });
}

/**
 * ignore.d.server/rsyslog as the rsyslog package (8.2302.0-1+deb12u2) installs it, not
 * logcheck-database: the fixtures were made on a machine with rsyslog installed (its old-prefix
 * `rsyslogd was HUPed` rule hides that line at levels server and workstation, not in the RFC 3339
 * sample, logcheck.md §1.6); CI and this machine have no rsyslog, so the copy gets it.
 */
const RSYSLOG_RULES = [
  '^\\w{3} [ :0-9]{11} [._[:alnum:]-]+ kernel: imklog [0-9.]+, log source = /proc/kmsg started.$',
  '^\\w{3} [ :0-9]{11} [._[:alnum:]-]+ kernel: Kernel logging \\(proc\\) stopped.$',
  '^\\w{3} [ :0-9]{11} [._[:alnum:]-]+ rsyslogd: \\[origin software="rsyslogd" swVersion="[0-9.]+" x-pid="[0-9]+" x-info="https://www.rsyslog.com"\\] start$',
  '^\\w{3} [ :0-9]{11} [._[:alnum:]-]+ rsyslogd: \\[origin software="rsyslogd" swVersion="[0-9.]+" x-pid="[0-9]+" x-info="https://www.rsyslog.com"\\] exiting on signal [0-9]+.$',
  '^\\w{3} [ :0-9]{11} [._[:alnum:]-]+ rsyslogd: \\[origin software="rsyslogd" swVersion="[0-9.]+" x-pid="[0-9]+" x-info="https://www.rsyslog.com"\\] rsyslogd was HUPed$',
].join('\n');

/** A private copy of the installed rule tree (the rule directories) as on the fixture machine. */
function copyOfDebianRules(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lc-rules-'));
  for (const d of RULE_DIRS) cpSync(join('/etc/logcheck', d), join(dir, d), { recursive: true });
  const rsyslog = join(dir, 'ignore.d.server', 'rsyslog');
  if (!existsSync(rsyslog)) writeFileSync(rsyslog, RSYSLOG_RULES + '\n');
  return dir;
}

let fixtureRules: string | undefined;
/** One shared copy for the tests that only read it. */
function fixtureTree(): string {
  fixtureRules ??= copyOfDebianRules();
  return fixtureRules;
}

test('level server on the sample: the sections of report-server.txt', () => {
  check(fixtureTree(), 'server', 'sample.log', 'report-server.txt');
});

test('level workstation on the sample: the sections of report-workstation.txt', () => {
  check(fixtureTree(), 'workstation', 'sample.log', 'report-workstation.txt');
});

test('level paranoid on the sample: the sections of report-paranoid.txt', () => {
  check(fixtureTree(), 'paranoid', 'sample.log', 'report-paranoid.txt');
});

test('RFC 3339 stamps at level server: the sections of report-server-rfc3339.txt', () => {
  check(fixtureTree(), 'server', 'sample-rfc3339.log', 'report-server-rfc3339.txt');
});

test('two logs in two formats (sample.log + sample-rfc3339.log): report-server-mixed-formats.txt', () => {
  check(fixtureTree(), 'server', 'sample.log', 'report-server-mixed-formats.txt', () =>
    batchOfMany(join(FIX, 'input', 'sample.log'), join(FIX, 'input', 'sample-rfc3339.log')),
  );
});

test('SORTUNIQ=1 (sort -u) at level server: the sections of report-server-sortuniq.txt', () => {
  check(fixtureTree(), 'server', 'sample.log', 'report-server-sortuniq.txt', sortUniqBatchOf);
});

test('the proposed PortSentry rules on top of Debian: report-server-with-proposed-portsentry-rules.txt', () => {
  const dir = copyOfDebianRules();
  for (const d of ['cracking.d', 'violations.d', 'ignore.d.server']) {
    cpSync(join(FIX, 'proposed-rules', d, 'portsentry'), join(dir, d, 'portsentry'));
  }
  check(dir, 'server', 'sample.log', 'report-server-with-proposed-portsentry-rules.txt');
});

test('a broken local ignore rule is a RuleFileError (logcheck silently drops System Events)', () => {
  const dir = copyOfDebianRules();
  const file = join(dir, 'ignore.d.server', 'local-broken');
  writeFileSync(file, '# my rules\nmyapp\\[[0-9]+\\]: (unbalanced\n');
  assert.throws(
    () => loadRuleTree({ ruleDir: dir, level: 'server' }),
    (err: unknown) =>
      err instanceof RuleFileError &&
      err.file === file &&
      err.line === 2 &&
      err.pattern === 'myapp\\[[0-9]+\\]: (unbalanced' &&
      err.reason === 'Unmatched ( or \\(' &&
      err.code === 'PSN_ERR_RULE_FILE' &&
      err.message.includes(`${file}:2`),
  );
  // What logcheck printed instead: the same alert and event sections, and no System Events.
  const broken = parseReport(join(FIX, 'expected', 'report-server-broken-ignore-rule.txt'));
  const good = parseReport(join(FIX, 'expected', 'report-server.txt'));
  assert.deepEqual(broken.alerts, good.alerts);
  assert.deepEqual(broken.events, good.events);
  assert.deepEqual(broken.system, []);
});

test('custom subjects rename the headings; the generic file logcheck has no "for"', () => {
  const dir = copyOfDebianRules();
  writeFileSync(join(dir, 'cracking.d', 'logcheck'), 'attackalert\n');
  const tree = loadRuleTree({ ruleDir: dir });
  const got = classify(batchOf(join(FIX, 'input', 'sample.log')), tree, {
    attack: 'PORTSCAN / ATTACK ALERTS',
  });
  assert.deepEqual(
    got.alerts.map((s) => s.heading),
    // File-name order: kernel < logcheck < smartd.
    [
      'PORTSCAN / ATTACK ALERTS for kernel',
      'PORTSCAN / ATTACK ALERTS',
      'PORTSCAN / ATTACK ALERTS for smartd',
    ],
  );
  const generic = got.alerts[1]?.lines ?? [];
  assert.ok(generic.length > 0 && generic.every((l) => l.includes('attackalert')));
  // Alert lines leave System Events.
  assert.ok(got.system.every((l) => !l.includes('attackalert')));
});

test('cancel rules: C/F, C/logcheck-F, C/local-*; a cancelled line is reported nowhere', () => {
  const dir = copyOfDebianRules();
  const put = (path: string, text: string): void => writeFileSync(join(dir, path), text);
  put('violations.d/myapp', 'myapp: (bad|worse|worst|awful)\n');
  put('violations.ignore.d/myapp', 'myapp: worse\n');
  put('violations.ignore.d/logcheck-myapp', 'myapp: worst\n');
  put('violations.ignore.d/local-x', 'myapp: awful\n');
  put('violations.ignore.d/local.disabled', 'myapp: bad\n'); // not a run-parts name: ignored
  const batch = [
    'Nov 22 10:00:00 h myapp: bad',
    'Nov 22 10:00:01 h myapp: worse',
    'Nov 22 10:00:02 h myapp: worst',
    'Nov 22 10:00:03 h myapp: awful',
  ];
  const got = classify(batch, loadRuleTree({ ruleDir: dir }));
  assert.deepEqual(got.events, [
    { heading: 'Security Events for myapp', lines: ['Nov 22 10:00:00 h myapp: bad'] },
  ]);
  assert.deepEqual(got.system, []);
  assert.deepEqual(got.fired, { attack: false, security: true, system: false });
});

test('cracking.d is the "higher" filter of events only when an alert section was emitted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lc-higher-'));
  for (const [path, text] of [
    ['cracking.d/a', 'X\n'],
    ['violations.d/b', 'X|Y\n'],
    ['cracking.ignore.d/a', 'X\n'],
  ] as const) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const batch = ['X1', 'Y1'];
  const off = classify(batch, loadRuleTree({ ruleDir: dir }));
  assert.deepEqual(off.alerts, [{ heading: 'Security Alerts for a', lines: ['X1'] }]);
  assert.deepEqual(off.events, [{ heading: 'Security Events for b', lines: ['Y1'] }]);
  assert.deepEqual(off.system, []);
  // SUPPORT_CRACKING_IGNORE=1: the alert is cancelled, so cracking.d no longer filters the events.
  const on = classify(batch, loadRuleTree({ ruleDir: dir, supportCrackingIgnore: true }));
  assert.deepEqual(on.alerts, []);
  assert.deepEqual(on.events, [{ heading: 'Security Events for b', lines: ['X1', 'Y1'] }]);
  assert.deepEqual(on.fired, { attack: false, security: true, system: false });
});
