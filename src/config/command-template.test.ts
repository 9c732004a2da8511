import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  expandCommand,
  parseCommandTemplate,
  substituteMacros,
  type CommandTemplate,
} from './command-template.ts';

const parse = (text: string): CommandTemplate => {
  const parsed = parseCommandTemplate(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.template;
};
const values = { target: '192.0.2.7', port: 143, mode: 'tcp' as const };

test('templates split like a shell would, without a shell', () => {
  assert.deepEqual(parse('/sbin/route add -host $TARGET$ reject').steps, [
    ['/sbin/route', 'add', '-host', '$TARGET$', 'reject'],
  ]);
  assert.deepEqual(
    parse("/sbin/iptables -I INPUT -s $TARGET$ -j LOG --log-prefix 'Portsentry: dropping: '").steps,
    [
      [
        '/sbin/iptables',
        '-I',
        'INPUT',
        '-s',
        '$TARGET$',
        '-j',
        'LOG',
        '--log-prefix',
        'Portsentry: dropping: ',
      ],
    ],
  );
  assert.deepEqual(parse('a  b\tc').steps, [['a', 'b', 'c']]);
  assert.deepEqual(parse("x 'it''s' \\$TARGET\\$ \"q\\\"\"").steps, [['x', 'its', '$TARGET$', 'q"']]);
  assert.deepEqual(parse('').steps, []);
});

test('"&&" makes steps; other shell syntax is refused', () => {
  assert.deepEqual(
    parse('/sbin/iptables -I INPUT -s $TARGET$ -j DROP && /usr/bin/logger blocked $TARGET$').steps,
    [
      ['/sbin/iptables', '-I', 'INPUT', '-s', '$TARGET$', '-j', 'DROP'],
      ['/usr/bin/logger', 'blocked', '$TARGET$'],
    ],
  );
  for (const text of ['a; b', 'a | b', 'a || b', 'a & b', 'a > f', 'a >> f', 'a < f', 'a `b`', 'a $(b)']) {
    const parsed = parseCommandTemplate(text);
    assert.equal(parsed.ok, false, text);
    if (!parsed.ok) assert.match(parsed.reason, /needs a shell, and portsnare runs commands without one/);
  }
  assert.deepEqual(parseCommandTemplate("a 'x;y|z>w'"), {
    ok: true,
    template: { text: "a 'x;y|z>w'", steps: [['a', 'x;y|z>w']] },
  });
  assert.equal(parseCommandTemplate("a 'open").ok, false);
  assert.equal(parseCommandTemplate('&& a').ok, false);
  assert.equal(parseCommandTemplate('a &&').ok, false);
});

test('macros are substituted inside each argument, every occurrence', () => {
  const template = parse('/usr/local/bin/ban --who=$TARGET$ --port $PORT$ --mode $MODE$ --again $TARGET$');
  assert.deepEqual(expandCommand(template, values), [
    ['/usr/local/bin/ban', '--who=192.0.2.7', '--port', '143', '--mode', 'tcp', '--again', '192.0.2.7'],
  ]);
  assert.equal(
    substituteMacros('ALL: $TARGET$ : DENY', { ...values, target: '2001:db8::1' }),
    'ALL: 2001:db8::1 : DENY',
  );
});

test('a hostile target can never reach a command', () => {
  const template = parse('/sbin/route add -host $TARGET$ reject');
  for (const target of [
    '1.2.3.4;reboot',
    '1.2.3.4 -j ACCEPT',
    '$(reboot)',
    '1.2.3.4\nALL: ALL',
    '',
    '::ffff:1.2.3.4',
    '2001:DB8::1',
  ]) {
    assert.throws(
      () => expandCommand(template, { ...values, target }),
      /refusing non-canonical target/,
      target,
    );
  }
  assert.throws(() => substituteMacros('x $PORT$', { ...values, port: 70000 }), /refusing invalid port/);
});
