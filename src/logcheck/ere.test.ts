import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RULE_DIRS } from './rules.ts';
import { compileEre, isAscii, RuleSyntaxError, translateEre } from './ere.ts';

const RULEDIR = '/etc/logcheck';
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/logcheck/input', import.meta.url));
const GREP_ENV = { ...process.env, LC_ALL: 'C.UTF-8' };

/** Every Debian rule file: [path, its rules (non-blank, first character not `#`)]. */
function debianRuleFiles(): [string, string[]][] {
  const out: [string, string[]][] = [];
  for (const dir of RULE_DIRS) {
    let names: string[];
    try {
      names = readdirSync(join(RULEDIR, dir)).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(RULEDIR, dir, name);
      const rules = readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'));
      out.push([path, rules]);
    }
  }
  return out;
}

/** Sample lines as logcheck's rules see them (trailing whitespace stripped). */
function sampleLines(): string[] {
  return ['sample.log', 'sample-rfc3339.log'].flatMap((f) =>
    readFileSync(join(FIXTURES, f), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.replace(/[\s]+$/u, '')),
  );
}

/** grep's verdict: 'error' (exit 2) or whether `line` matches. Argument vector, no shell. */
function grepSays(pattern: string, line: string): boolean | 'error' {
  const r = spawnSync('grep', ['-E', '-a', '-q', '-e', pattern], { input: line + '\n', env: GREP_ENV });
  if (r.status === 2) return 'error';
  if (r.status !== 0 && r.status !== 1) throw new Error(`grep died: ${String(r.status)}`);
  return r.status === 0;
}

function oursSays(pattern: string, line: string): boolean | 'error' {
  try {
    const full = compileEre(pattern).test(line);
    if (isAscii(line))
      assert.equal(compileEre(pattern, { ascii: true }).test(line), full, `ascii form of ${pattern}`);
    return full;
  } catch (err) {
    if (err instanceof RuleSyntaxError) return 'error';
    throw err;
  }
}

test('every rule Debian ships (logcheck-database 1.4.2) compiles', () => {
  let n = 0;
  for (const [path, rules] of debianRuleFiles()) {
    for (const rule of rules) {
      assert.doesNotThrow(() => compileEre(rule), `${path}: ${rule}`);
      n++;
    }
  }
  // logcheck.md §1.5 counts 1 922 non-comment rules in the six shipped directories.
  assert.ok(n > 1900, `only ${n} rules found under ${RULEDIR}`);
});

test('differential: each Debian rule file over the samples agrees with grep -E -a -n -f', () => {
  const lines = sampleLines();
  const dir = mkdtempSync(join(tmpdir(), 'ere-diff-'));
  const input = join(dir, 'input');
  writeFileSync(input, lines.join('\n') + '\n');
  let pairs = 0;
  let matched = 0;
  let perRule = 0;
  for (const [path, rules] of debianRuleFiles()) {
    if (rules.length === 0) continue;
    const ruleFile = join(dir, 'rules');
    writeFileSync(ruleFile, rules.join('\n') + '\n');
    const grepLines = (args: string[]): Set<number> => {
      const r = spawnSync('grep', ['-E', '-a', '-n', ...args, input], { env: GREP_ENV });
      assert.ok(r.status === 0 || r.status === 1, `grep failed on ${path}: ${String(r.stderr)}`);
      return new Set(
        String(r.stdout)
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => Number(l.slice(0, l.indexOf(':'))) - 1),
      );
    };
    const grepHits = grepLines(['-f', ruleFile]);
    const res = rules.map((rule) => compileEre(rule));
    const ascii = rules.map((rule) => compileEre(rule, { ascii: true }));
    lines.forEach((line, i) => {
      const ours = res.some((re) => re.test(line));
      if (isAscii(line))
        assert.equal(
          ascii.some((re) => re.test(line)),
          ours,
          `ascii form, ${path} on line ${i + 1}`,
        );
      assert.equal(ours, grepHits.has(i), `${path} on line ${i + 1}: ${line}`);
      if (ours) matched++;
    });
    // Where the file matched something, each rule alone too: one rule's mistake could hide behind
    // another rule of the file matching the same line. (Where nothing matched, no rule did.)
    if (grepHits.size > 0) {
      rules.forEach((rule, k) => {
        const want = grepLines(['-e', rule]);
        const re = res[k] as RegExp;
        lines.forEach((line, i) =>
          assert.equal(re.test(line), want.has(i), `${path}: ${rule} on line ${i + 1}`),
        );
        perRule++;
      });
    }
    pairs += rules.length * lines.length;
  }
  assert.ok(pairs > 100_000, `only ${pairs} (rule, line) pairs`);
  assert.ok(matched > 50, `only ${matched} matches: the comparison would prove little`);
  assert.ok(perRule > 100, `only ${perRule} rules compared one by one`);
});

/** Hand-made cases: [pattern, line]; each is asked of grep and of compileEre. */
const EDGE: [string, string][] = [
  ['*a', 'a'],
  ['*a', '*a'],
  ['a|*b', 'b'],
  ['(*b)', 'b'],
  ['a(*)', 'a'],
  ['(a|*)', 'a'],
  ['^*a', 'ba'],
  ['^+a', 'ba'],
  ['a$*', 'ab'],
  ['\\<*a', 'ba'],
  ['\\<*a', '*a'],
  ['a**', 'a'],
  ['a+?', 'b'],
  ['a{1}*', 'b'],
  ['a{2}{3}', 'aaaaa'],
  ['a{2}{3}', 'aaaaaa'],
  ['+a', 'a'],
  ['{1}a', 'a'],
  ['{1}a', '{1}a'],
  ['a{', 'a{'],
  ['a{1', 'a{1'],
  ['a{1,2', 'a{1,2'],
  ['a{x}', 'a{x}'],
  ['a{,3}', 'a'],
  ['a{,3}', 'a{,3}'],
  ['a{,}', 'aaa'],
  ['a{}', 'a'],
  ['a{3,2}', 'a'],
  ['a{65536}', 'a'],
  ['a{0}b', 'b'],
  ['x{2,3}y', 'xxxy'],
  ['^x{2,3}y', 'xxxxy'],
  ['()', 'x'],
  ['a||b', 'x'],
  ['(|a)', 'x'],
  ['a|', 'x'],
  ['a)', 'a)'],
  [')', ')'],
  ['(', '('],
  ['(a', 'a'],
  ['\\(', '('],
  ['a\\', 'a'],
  ['$a', '$a'],
  ['a^', 'a^'],
  ['x(^a)', 'xa'],
  ['(^|x)a', 'a'],
  ['a$|b', 'ab'],
  ['\\d', 'd'],
  ['\\d', '1'],
  ['\\t', 't'],
  ['\\.', 'x'],
  ['\\.', '.'],
  ['\\{1\\}', '{1}'],
  ['\\|', '|'],
  ['\\]', ']'],
  ['\\2', 'a'],
  ['(a)\\2', 'a'],
  ['(a\\1)', 'aa'],
  ['\\1(a)', 'aa'],
  ['(a)|b\\1', 'b'],
  ['(a)\\1', 'aa'],
  ['(a)\\1', 'ab'],
  ['(a)(\\1)', 'aa'],
  ['((a)\\2)', 'aa'],
  ['(a|b)\\1', 'ab'],
  ['(a|b)\\1', 'bb'],
  ['(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\\10', 'abcdefghija0'],
  ['([a-z]+) \\1$', 'say hello hello'],
  ['[z-a]', 'a'],
  ['[a-z]', 'q'],
  ['[[:foo:]]', 'a'],
  ['[:alpha:]', 'a'],
  ['[[:alpha:]', 'a'],
  ['[a', 'a'],
  ['a]', 'a]'],
  ['}', '}'],
  ['[]a]', ']'],
  ['[^]a]', 'b'],
  ['[^]a]', ']'],
  ['[]-a]', '^'],
  ['[a-]', '-'],
  ['[-a]', '-'],
  ['[%--]', ','],
  ['[--/]', '.'],
  ['[a-c-e]', 'd'],
  ['[[:alpha:]-z]', 'a'],
  ['[a\\]', '\\'],
  ['[a\\]]', 'a]'],
  ['[\\w]', 'w'],
  ['[\\w]', 'x'],
  ['[[.a.]]', 'a'],
  ['[[.-.]]', '-'],
  ['[[.space.]]', ' '],
  ['[[=a=]]', 'a'],
  ['[[=e=]]', 'é'],
  ['[[=é=]]', 'é'],
  ['[[.é.]]', 'é'],
  ['[[:alpha:]]', 'é'],
  ['^[[:alpha:]]+$', 'résumé'],
  ['[[:alpha:]]', '5'],
  ['[[:alnum:]]', '5'],
  ['[[:digit:]]', '٣'],
  ['[[:alpha:]]', '٣'],
  ['[[:upper:]]', 'É'],
  ['[[:upper:]]', 'e'],
  ['[[:lower:]]', 'é'],
  ['[[:lower:]]', 'E'],
  ['[[:punct:]]', '€'],
  ['[[:punct:]]', '_'],
  ['[[:punct:]]', 'a'],
  ['[[:punct:]]', '\u00a0'],
  ['[[:space:]]', '\u00a0'],
  ['[[:space:]]', '\u2003'],
  ['[[:space:]]', '\u0085'],
  ['[[:space:]]', '\t'],
  ['[[:space:]]', '\v'],
  ['[[:blank:]]', '\t'],
  ['[[:blank:]]', '\v'],
  ['[[:cntrl:]]', '\u0085'],
  ['[[:cntrl:]]', '\u0001'],
  ['[[:cntrl:]]', 'a'],
  ['[[:print:]]', '\u00a0'],
  ['[[:print:]]', ' '],
  ['[[:graph:]]', ' '],
  ['[[:graph:]]', '\u00a0'],
  ['[[:xdigit:]]', 'F'],
  ['[[:xdigit:]]', 'g'],
  ['[^[:digit:]]', '7'],
  ['[^[:digit:]]', 'x'],
  ['[[:digit:][:upper:]]', 'Q'],
  ['\\w', 'é'],
  ['\\w', '_'],
  ['\\W', 'é'],
  ['\\W', '-'],
  ['\\s', ' '],
  ['\\S', ' '],
  ['\\bé', ' é'],
  ['a\\>', 'aé'],
  ['a\\>', 'a-'],
  ['\\<a', 'b a'],
  ['\\<a', 'ba'],
  ['x\\B', 'xy'],
  ['x\\B', 'x y'],
  ['x\\b', 'x y'],
  ["a\\'", 'a'],
  ["a\\'", 'ab'],
  ['\\`a', 'a'],
  ['\\`a', 'ba'],
  ['.', '\r'],
  ['^.$', 'é'],
  ['^..$', 'é'],
  ['a.c', 'a\u0000c'],
  ['a/b', 'a/b'],
  ['a-b,c=d', 'a-b,c=d'],
  ['a?b+c*', 'bc'],
  ['(ab)+$', 'xabab'],
  ['^(\\w{3} [ :[:digit:]]{11}|[0-9T:.+-]{32}) [._[:alnum:]-]+ cron', 'Nov 22 10:00:01 host cron'],
  ['^(\\w{3} [ :[:digit:]]{11}|[0-9T:.+-]{32}) [._[:alnum:]-]+ cron', 'Nov 22 10:00:01 host  cron'],
];

test('differential: hand-made edge cases agree with grep -E -a -q -e (logcheck passes --text)', () => {
  const wrong: string[] = [];
  for (const [pattern, line] of EDGE) {
    const g = grepSays(pattern, line);
    const o = oursSays(pattern, line);
    if (g !== o)
      wrong.push(
        `${JSON.stringify(pattern)} on ${JSON.stringify(line)}: grep ${String(g)}, ours ${String(o)}`,
      );
  }
  assert.deepEqual(wrong, []);
});

test('a rule grep refuses is a RuleSyntaxError with its reason', () => {
  assert.throws(
    () => compileEre('myapp\\[[0-9]+\\]: (unbalanced'),
    (err: unknown) =>
      err instanceof RuleSyntaxError &&
      err.reason === 'Unmatched ( or \\(' &&
      err.pattern === 'myapp\\[[0-9]+\\]: (unbalanced' &&
      err.code === 'PSN_ERR_RULE_SYNTAX',
  );
  assert.throws(() => compileEre('[z-a]'), /Invalid range end/);
  assert.throws(() => compileEre('(a)\\2'), /Invalid back reference/);
});

test('translation keeps groups capturing only where back-references need them', () => {
  assert.equal(translateEre('^(a|b)c$').unicode.source, '^(?:a|b)c$');
  assert.deepEqual(translateEre('a|b(c)').unicode.branches, [['a'], ['b', '(?:c)']]);
  const br = translateEre('(a)\\1|x');
  assert.equal(br.backrefs, true);
  assert.deepEqual(br.unicode.branches, [['(a)(?:\\1)|x']]);
  assert.equal(translateEre('[[:alpha:]é]').ascii.source, '[A-Za-z]');
  assert.equal(translateEre('é|[^é]').ascii.source, '[]|[^]');
});
