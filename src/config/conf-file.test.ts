import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfText } from './conf-file.ts';
import { formatDiagnostic } from './diagnostic.ts';

const F = '/etc/portsentry/portsentry.conf';
const parse = (text: string) => parseConfText(F, text);
const messages = (text: string) => parse(text).diagnostics.map(formatDiagnostic);

test('reads 1.2 and 2.x spellings, comments and trailing comments', () => {
  const conf = parse(
    [
      '# comment',
      'TCP_PORTS="1,11,15"',
      'RESOLVE_HOST = "0"',
      'BLOCK_TCP="1"  # trailing comment',
      '',
      '   ',
      'KILL_ROUTE="/sbin/iptables -I INPUT -s $TARGET$ -j DROP"',
      '\t# indented comment',
    ].join('\n'),
  );
  assert.deepEqual(conf.diagnostics, []);
  assert.equal(conf.entries.get('TCP_PORTS')?.value, '1,11,15');
  assert.equal(conf.entries.get('TCP_PORTS')?.line, 2);
  assert.equal(conf.entries.get('RESOLVE_HOST')?.value, '0');
  assert.equal(conf.entries.get('BLOCK_TCP')?.value, '1');
  assert.equal(conf.entries.get('KILL_ROUTE')?.value, '/sbin/iptables -I INPUT -s $TARGET$ -j DROP');
});

test('CRLF line endings are read like LF', () => {
  const conf = parse('TCP_PORTS="1,2"\r\nUDP_PORTS="3"\r\n');
  assert.deepEqual(conf.diagnostics, []);
  assert.equal(conf.entries.get('UDP_PORTS')?.value, '3');
});

test('the first occurrence of a key wins and the duplicate is reported with both lines', () => {
  const conf = parse('SCAN_TRIGGER="2"\nSCAN_TRIGGER="5"\n');
  assert.equal(conf.entries.get('SCAN_TRIGGER')?.value, '2');
  assert.deepEqual(messages('SCAN_TRIGGER="2"\nSCAN_TRIGGER="5"\n'), [
    `warning: ${F}:2: SCAN_TRIGGER: duplicate key; the first one (line 1) wins, as in PortSentry 1.2`,
  ]);
});

test('each malformed line gets its own message with file, line and key', () => {
  const cases: [string, string][] = [
    [
      'SCAN_TRIGGER=0',
      `error: ${F}:1: SCAN_TRIGGER: value is not in double quotes (PortSentry 1.2 silently skips this key)`,
    ],
    ['BLOCK_TCP="1', `error: ${F}:1: BLOCK_TCP: missing closing double quote`],
    ['BLOCK_TPC="1"', `warning: ${F}:1: BLOCK_TPC: unknown key, ignored (did you mean BLOCK_TCP?)`],
    ['FROBNICATE="1"', `warning: ${F}:1: FROBNICATE: unknown key, ignored`],
    [
      '  TCP_PORTS="1"',
      `warning: ${F}:1: TCP_PORTS: line is indented; PortSentry 1.2 ignores it and so does portsnare`,
    ],
    ['TCP_PORTS: "1"', `error: ${F}:1: TCP_PORTS: expected TCP_PORTS="value", found "TCP_PORTS: ""`],
    [
      'PORT_BANNER="a\tb"',
      `warning: ${F}:1: PORT_BANNER: value contains a control character ("\\t"); it is cut there, as PortSentry 1.2 does`,
    ],
    ['BLOCK_UDP="1" junk', `warning: ${F}:1: BLOCK_UDP: text after the closing quote is ignored: "junk"`],
    [
      'TCP_PORTS\t="1"',
      `warning: ${F}:1: TCP_PORTS: a tab between key and "=" makes PortSentry 1.2 ignore this line`,
    ],
    ['=oops', `error: ${F}:1: cannot read this line: expected KEY="value"`],
  ];
  for (const [line, expected] of cases) assert.deepEqual(messages(line), [expected], line);
});

test('a value cut at a tab keeps what came before it', () => {
  assert.equal(parse('PORT_BANNER="a\tb"').entries.get('PORT_BANNER')?.value, 'a');
});

test('a key with a missing quote is not taken at all', () => {
  const conf = parse('BLOCK_TCP=1\n');
  assert.equal(conf.entries.has('BLOCK_TCP'), false);
});

test('hostile input: binary garbage, huge lines and NULs never throw and are reported', () => {
  const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)).toString('latin1');
  const conf = parse(`${garbage}\nTCP_PORTS="${'9,'.repeat(50_000)}9"\n\0\0\0\n`);
  assert.ok(conf.diagnostics.length > 0);
  assert.ok(conf.diagnostics.every((d) => d.line > 0 && d.file === F));
  assert.equal(conf.entries.get('TCP_PORTS')?.value.length, 100_001);
});

test('a UTF-8 byte-order mark at the start is skipped, not read as indentation', () => {
  const conf = parse('\uFEFFTCP_PORTS="1,2"\nUDP_PORTS="3"\n');
  assert.deepEqual(conf.diagnostics, []);
  assert.equal(conf.entries.get('TCP_PORTS')?.value, '1,2');
  assert.equal(conf.entries.get('TCP_PORTS')?.line, 1);
});

test('a key with a non-ASCII letter is an invalid key name, reported whole', () => {
  assert.deepEqual(messages('TCP_PÖRTS="1"\n'), [
    `error: ${F}:1: TCP_PÖRTS: invalid key name "TCP_PÖRTS": keys are ASCII letters, digits and "_" (did you mean TCP_PORTS?)`,
  ]);
  assert.deepEqual(messages('ΒLOCK_TCP="1"\n'), [
    `error: ${F}:1: ΒLOCK_TCP: invalid key name "ΒLOCK_TCP": keys are ASCII letters, digits and "_" (did you mean BLOCK_TCP?)`,
  ]);
  assert.equal(parse('TCP_PÖRTS="1"\n').entries.size, 0);
  // still fine: key followed by space, '=' or '"'
  assert.deepEqual(messages('TCP_PORTS ="1"\nUDP_PORTS= "2"\n'), []);
});
