import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileEre } from './ere.ts';
import { anyOf, compileRules, loadRuleTree, parseRuleText, RuleFileError, type Rule } from './rules.ts';

const FIX = fileURLToPath(new URL('../../test/fixtures/logcheck', import.meta.url));

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lc-tree-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

test('run-parts names only, in C byte order; blank, whitespace-only and #-first lines dropped', () => {
  const dir = tree({
    'cracking.d/b_c-1': 'one\n',
    'cracking.d/B': 'two\n',
    'cracking.d/a': '# comment\n\n \t\n #indented is a rule\nthree\n',
    'cracking.d/local.rules': 'skipped\n',
    'cracking.d/x.dpkg-old': 'skipped\n',
    'cracking.d/local~': 'skipped\n',
    'cracking.d/.hidden': 'skipped\n',
    'cracking.d/sub/inner': 'skipped\n',
  });
  const t = loadRuleTree({ ruleDir: dir });
  assert.deepEqual(
    t.cracking.files.map((f) => f.name),
    ['B', 'a', 'b_c-1'],
  );
  const a = t.cracking.get('a');
  assert.deepEqual(
    a?.rules.map((r) => [r.line, r.pattern]),
    [
      [4, ' #indented is a rule'],
      [5, 'three'],
    ],
  );
  assert.equal(a?.test('x three y'), true);
  assert.equal(a?.test('# comment'), false);
  assert.equal(t.cracking.get('local.rules'), undefined);
  // Missing directories are empty.
  assert.deepEqual(t.violations.files, []);
  assert.deepEqual(t.ignore.files, []);
});

test('levels are additive and same-named ignore files are concatenated', () => {
  const dir = tree({
    'ignore.d.paranoid/common': 'p-rule\n',
    'ignore.d.server/common': 's-rule\n',
    'ignore.d.server/only-server': 's2\n',
    'ignore.d.workstation/common': 'w-rule\n',
  });
  const names = (level: 'paranoid' | 'server' | 'workstation'): [string, string[]][] =>
    loadRuleTree({ ruleDir: dir, level }).ignore.files.map((f) => [f.name, f.rules.map((r) => r.pattern)]);
  assert.deepEqual(names('paranoid'), [['common', ['p-rule']]]);
  assert.deepEqual(names('server'), [
    ['common', ['s-rule', 'p-rule']],
    ['only-server', ['s2']],
  ]);
  assert.deepEqual(names('workstation'), [
    ['common', ['w-rule', 's-rule', 'p-rule']],
    ['only-server', ['s2']],
  ]);
  const ws = loadRuleTree({ ruleDir: dir, level: 'workstation' }).ignore.get('common');
  assert.equal(ws?.rules[2]?.file, join(dir, 'ignore.d.paranoid', 'common'));
});

test('cracking.ignore.d is read only with SUPPORT_CRACKING_IGNORE; missing, the alert layer is skipped', () => {
  const dir = tree({ 'cracking.d/x': 'a\n', 'cracking.ignore.d/x': 'b\n' });
  assert.equal(loadRuleTree({ ruleDir: dir }).crackingIgnore, null);
  const on = loadRuleTree({ ruleDir: dir, supportCrackingIgnore: true });
  assert.deepEqual(
    on.crackingIgnore?.files.map((f) => f.name),
    ['x'],
  );
  assert.equal(on.alertsSkipped, false);
  const without = tree({ 'cracking.d/x': 'a\n' });
  const skipped = loadRuleTree({ ruleDir: without, supportCrackingIgnore: true });
  assert.equal(skipped.alertsSkipped, true);
  assert.equal(loadRuleTree({ ruleDir: without }).alertsSkipped, false);
});

test('a rule that does not compile is a RuleFileError naming file and line', () => {
  const dir = tree({ 'violations.d/app': '# c\nok\n\nbad[z-a]\n' });
  assert.throws(
    () => loadRuleTree({ ruleDir: dir }),
    (err: unknown) =>
      err instanceof RuleFileError &&
      err.file === join(dir, 'violations.d/app') &&
      err.line === 4 &&
      err.pattern === 'bad[z-a]' &&
      err.reason === 'Invalid range end' &&
      err.message === `${join(dir, 'violations.d/app')}:4: Invalid range end in rule "bad[z-a]"`,
  );
  assert.throws(() => parseRuleText('f', 'a\\'), /f:1: Trailing backslash/);
});

test('an unreadable rule file is an error naming it, even one run-parts would skip', () => {
  // /proc/self/mem is a regular file that fails every read (EIO), for root too.
  const dir = tree({ 'ignore.d.server/ok': 'x\n' });
  symlinkSync('/proc/self/mem', join(dir, 'ignore.d.server', 'broken'));
  assert.throws(
    () => loadRuleTree({ ruleDir: dir }),
    (err: unknown) =>
      err instanceof RuleFileError &&
      err.file === join(dir, 'ignore.d.server', 'broken') &&
      err.line === null,
  );
  if (process.getuid?.() !== 0) {
    const d2 = tree({ 'cracking.d/local.rules': 'x\n' });
    chmodSync(join(d2, 'cracking.d/local.rules'), 0);
    assert.throws(() => loadRuleTree({ ruleDir: d2 }), RuleFileError);
  }
});

test('merged matchers answer as the rules one by one (every Debian rule, ASCII and not)', () => {
  const base = ['sample.log', 'sample-rfc3339.log'].flatMap((f) =>
    readFileSync(join(FIX, 'input', f), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.trimEnd()),
  );
  // Non-ASCII twins take the Unicode path; the other variants probe logcheck/head-dispatch: the
  // other stamp format, lines cut short, a line that ends where the head does, doubled blanks, and
  // a non-ASCII character where the program name starts.
  const lines = [
    ...base,
    ...base.filter((_, i) => i % 4 === 0).map((l) => l.replace(' host ', ' hôst ')),
    ...base.map((l) => l.replace(/^\S+ +\S+ +\S+/, '2026-12-04T04:35:54.123456+00:00')),
    ...base.map((l) => l.slice(0, 40)),
    ...base.filter((_, i) => i % 3 === 0).map((l) => l.replace(/ /g, '  ')),
    ...base.filter((_, i) => i % 5 === 0).map((l) => l.replace(/^(\S+ +\S+ +\S+ \S+ )/, '$1é')),
    'Dec  4 04:35:54 host ',
    'Dec  4 04:35:54 host',
  ];
  // Level workstation holds every rule of the ignore directories.
  const t = loadRuleTree({ level: 'workstation' });
  const files = [t.cracking, t.violations, t.violationsIgnore, t.ignore].flatMap((d) => d.files);
  const single = files.map((f) => f.rules.map((r) => compileEre(r.pattern)));
  const merged = compileRules(files.flatMap((f) => f.rules));
  const union = anyOf(files);
  let hits = 0;
  for (const line of lines) {
    let want = false;
    files.forEach((f, i) => {
      const fileWants = (single[i] ?? []).some((re) => re.test(line));
      assert.equal(f.test(line), fileWants, `${f.name}: ${line}`);
      want ||= fileWants;
    });
    assert.equal(merged.test(line), want, line);
    assert.equal(union.test(line), want, `anyOf: ${line}`);
    if (want) hits++;
  }
  assert.ok(hits > 200, `only ${hits} matching lines`);
});

test('merging: prefixes, empty alternatives, back-references, unanchored rules', () => {
  const rules = (...patterns: string[]): Rule[] =>
    patterns.flatMap((p, i) => parseRuleText('f', p).map((r) => ({ ...r, line: i + 1 })));
  const m = compileRules(rules('^ab', '^abc$', '^a(x|y)z', 'q+r', '(k)\\1'));
  for (const [line, want] of [
    ['abz', true],
    ['xab', false],
    ['ayz', true],
    ['aqz', false],
    ['..qqr', true],
    ['kk', true],
    ['k k', false],
  ] as const) {
    assert.equal(m.test(line), want, line);
  }
  assert.equal(compileRules(rules('a|')).test('zzz'), true);
  assert.equal(compileRules(rules('^')).test(''), true);
  assert.equal(compileRules([]).test('x'), false);
});
