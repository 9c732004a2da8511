import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileEre } from './ere.ts';
import { dispatchHeads, fixedWidth, headOf } from './head-dispatch.ts';
import { compileRules, parseRuleText } from './rules.ts';
import { prng } from '../../test/builders/fuzz.ts';

test('fixed widths: characters, classes, {n}, groups of one width; nothing else', () => {
  assert.equal(fixedWidth('ab'), 2);
  assert.equal(fixedWidth('[a-z]{3} [0-9]'), 5);
  assert.equal(fixedWidth('\\x2e\\u00e9\\/'), 3);
  assert.equal(fixedWidth('(?:ab|cd)x'), 3);
  assert.equal(fixedWidth('(?:ab|c)'), -1);
  assert.equal(fixedWidth('a+'), -1);
  assert.equal(fixedWidth('a?'), -1);
  assert.equal(fixedWidth('a{1,2}'), -1);
  assert.equal(fixedWidth('.'), -1);
});

test('a head is dispatched only where the line decides where it ends', () => {
  const debian = [
    '^',
    '(?:[A-Za-z0-9_]{3} [\\x20\\x3a0-9]{11}|[0-9T\\x3a\\x2e\\x2b\\x2d]{32})',
    ' ',
    '[\\x2e\\x5fA-Za-z0-9\\x2d]+',
    ' ',
    's',
    'u',
  ];
  const head = headOf(debian, '');
  assert.equal(head?.length, 5);
  // The group's two widths (15 and 32) are tried as two heads.
  assert.equal(head?.variants.length, 2);
  // `[a-z ]+ ` can stop at any blank: not dispatched.
  assert.equal(headOf(['^', '[a-z]{3}', ' ', '[a-z ]+', ' ', 'x'], ''), null);
  // A variable-width atom before the run: not dispatched.
  assert.equal(headOf(['^', '[a-z]*', ' ', '[a-z]+', ' ', 'x'], ''), null);
  // No run at all.
  assert.equal(headOf(['^', 'a', 'b', 'c'], ''), null);
});

test('dispatched rules answer as the rules one by one, on lines made to catch a wrong head end', () => {
  // Enough rules behind one head to be dispatched, with tails of every first-atom kind.
  const tails = [
    'sshd\\[[0-9]+\\]: ok$',
    'su: x',
    '(sshd|cron)\\[1\\]: group',
    '(x)?y: optional',
    '[a-z]+: class',
    '.*: anything',
    '[0-9]{2}z',
    '$',
    'é: unicode',
    'cron: y',
    'kernel: z',
    'a+b',
    '(a|b)*c',
    'ab{0,1}c',
    'q(r|s)t',
    '\\.dot',
    '-- MARK --$',
  ];
  const patterns = tails.map((t) => `^([[:alnum:]]{3} [ :0-9]{2}|[0-9]{4}) [._[:alnum:]-]+ ${t}`);
  const rules = patterns.flatMap((p, i) => parseRuleText('f', p).map((r) => ({ ...r, line: i + 1 })));
  const forms = rules.map((r) => r.ere.ascii);
  const { tests } = dispatchHeads(
    forms.flatMap((f) => f.branches),
    '',
  );
  assert.equal(tests.length, 1, 'the rules share one dispatched head');
  const merged = compileRules(rules);
  const single = patterns.map((p) => compileEre(p));
  const r = prng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const heads = ['Dec  4', 'Dec 14', '2026', 'Dec  ', 'ab1 99', '12345', 'Dec 4 '];
  const hosts = ['host', 'h.o-st_1', 'a', '', 'two words', 'hôst'];
  const rests = [
    'sshd[12]: ok',
    'su: x',
    'cron[1]: group',
    'y: optional',
    'abc: class',
    ': anything',
    '42z',
    '',
    'é: unicode',
    'aab',
    'bac',
    'ac',
    'qst',
    '.dot',
    '-- MARK --',
    'zzz',
    ' su: x',
  ];
  let hits = 0;
  for (let i = 0; i < 3000; i++) {
    const line = `${pick(heads)}${pick([' ', '  ', ''])}${pick(hosts)}${pick([' ', '  '])}${pick(rests)}`;
    const want = single.some((re) => re.test(line));
    assert.equal(merged.test(line), want, line);
    if (want) hits++;
  }
  assert.ok(hits > 150, `only ${hits} matching lines`);
});
