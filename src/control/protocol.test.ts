import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, hasCode } from '../errors.ts';
import {
  banView,
  openEnvelope,
  parseDuration,
  parseReply,
  parseRequest,
  type ControlCommand,
  type ControlResults,
} from './protocol.ts';

test('well-formed requests parse', () => {
  assert.deepEqual(parseRequest('{"command":"status"}'), { command: 'status' });
  assert.deepEqual(parseRequest('{"command":"list","extra":1}'), { command: 'list' });
  assert.deepEqual(parseRequest('{"command":"block","address":"192.0.2.1","seconds":60}'), {
    command: 'block',
    address: '192.0.2.1',
    seconds: 60,
  });
  assert.deepEqual(parseRequest('{"command":"block","address":"192.0.2.1"}'), {
    command: 'block',
    address: '192.0.2.1',
    seconds: null,
  });
  assert.deepEqual(parseRequest('{"command":"unblock","target":"10.0.0.0/8"}'), {
    command: 'unblock',
    target: '10.0.0.0/8',
  });
});

test('hostile and malformed requests are refused with a reason', () => {
  const bad: [string, RegExp][] = [
    ['', /not JSON/],
    ['status', /not JSON/],
    ['[]', /not a JSON object/],
    ['null', /not a JSON object/],
    ['{"command":"rm -rf /"}', /unknown command/],
    ['{"command":"__proto__"}', /unknown command/],
    ['{"command":"block"}', /"address" must be/],
    ['{"command":"block","address":""}', /"address" must be/],
    ['{"command":"block","address":["1.2.3.4"]}', /"address" must be/],
    [`{"command":"block","address":"${'1'.repeat(101)}"}`, /"address" must be/],
    ['{"command":"block","address":"192.0.2.1","seconds":0}', /"seconds"/],
    ['{"command":"block","address":"192.0.2.1","seconds":1.5}', /"seconds"/],
    ['{"command":"block","address":"192.0.2.1","seconds":"60"}', /"seconds"/],
    ['{"command":"unblock","target":7}', /"target" must be/],
  ];
  for (const [line, reason] of bad) assert.throws(() => parseRequest(line), reason, line);
});

test('durations: plain seconds or one unit; nothing else', () => {
  assert.equal(parseDuration('90'), 90);
  assert.equal(parseDuration('90s'), 90);
  assert.equal(parseDuration('15m'), 900);
  assert.equal(parseDuration('2h'), 7200);
  assert.equal(parseDuration('7d'), 604800);
  assert.equal(parseDuration('1w'), 604800);
  for (const text of ['', '0', '0s', '-5', '1.5h', '2 h', 'soon', '1h30m', '9999999999']) {
    assert.equal(parseDuration(text), null, text);
  }
});

test('a ban as shown: ISO times, null for "until unblocked"', () => {
  // The ban store's record, as the daemon passes it (control/ takes any value of this shape).
  const view = banView({
    address: '192.0.2.1',
    since: Date.UTC(2026, 0, 2, 3, 4, 5),
    expires: null,
    ports: [22, 23],
    scanType: 'Connect',
    mode: 'tcp',
    backends: ['nft'],
  });
  assert.deepEqual(view, {
    address: '192.0.2.1',
    since: '2026-01-02T03:04:05.000Z',
    expires: null,
    ports: [22, 23],
    scanType: 'Connect',
    mode: 'tcp',
    backends: ['nft'],
  });
});

const BAN = {
  address: '192.0.2.1',
  since: '2026-01-02T03:04:05.000Z',
  expires: '2026-01-02T04:04:05.000Z',
  ports: [22, 23],
  scanType: 'Connect',
  mode: 'tcp',
  backends: ['nft', 'hosts.deny'],
};

const STATUS = {
  running: true,
  pid: 42,
  startedAt: '2026-01-02T03:00:00.000Z',
  version: '0.1.0',
  modes: ['stcp', 'audp'],
  backend: 'nftables (inet portsnare)',
  blockTime: 3600,
  traps: [
    { mode: 'stcp', ports: [1, 11] },
    { mode: 'audp', ports: null, below: 1024, exclude: [67] },
  ],
  counters: { hits: 3, 'capture.captured': 10 },
  stateDir: '/var/lib/portsnare',
  bans: [BAN, { ...BAN, address: '192.0.2.2', expires: null }],
};

/** Asserts `fn` throws a PortsnareError with the PROTOCOL code whose message matches `message`. */
function assertProtocolError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => hasCode(err, ErrorCodes.PROTOCOL) && message.test(err.message));
}

test('typed replies: a well-formed result of each command comes back as it was sent', () => {
  const good: { [C in ControlCommand]: ControlResults[C] } = {
    status: STATUS,
    list: [BAN],
    block: { ban: BAN, already: false },
    unblock: { lifted: [BAN], found: true },
    flush: { lifted: 2 },
  };
  for (const command of ['status', 'list', 'block', 'unblock', 'flush'] as const) {
    const wire: unknown = JSON.parse(JSON.stringify(good[command]));
    const result = parseReply(command, wire);
    assert.deepEqual(result, good[command], command);
    // `status --json` and `list --json` print what was decoded: same keys, same order.
    assert.equal(JSON.stringify(result), JSON.stringify(good[command]), command);
  }
  assert.deepEqual(parseReply('list', []), []);
});

test('typed replies: a result of the wrong shape is a PROTOCOL error naming the field', () => {
  assertProtocolError(() => parseReply('list', null), /result is not an array/);
  assertProtocolError(() => parseReply('list', [{ ...BAN, since: 5 }]), /result\[0\]\.since is not a string/);
  assertProtocolError(() => parseReply('list', [{ ...BAN, ports: [22, '23'] }]), /result\[0\]\.ports\[1\]/);
  assertProtocolError(() => parseReply('status', { ...STATUS, running: 'yes' }), /result\.running/);
  assertProtocolError(() => parseReply('status', { ...STATUS, counters: { hits: '3' } }), /counters\.hits/);
  assertProtocolError(
    () => parseReply('status', { ...STATUS, traps: [{ mode: 'atcp', ports: null, below: '1024' }] }),
    /result\.traps\[0\]\.below is not a number/,
  );
  assertProtocolError(() => parseReply('block', { ban: BAN }), /result\.already/);
  assertProtocolError(
    () => parseReply('unblock', { lifted: BAN, found: true }),
    /result\.lifted is not an array/,
  );
  assertProtocolError(() => parseReply('flush', [2]), /result is not an object/);
  assertProtocolError(() => parseReply('flush', { lifted: null }), /result\.lifted is not a number/);
});

test('the reply envelope: a result, or the daemon error with its code; anything else refused', () => {
  assert.deepEqual(openEnvelope('{"ok":true,"result":{"lifted":1}}\n'), { lifted: 1 });
  assert.throws(
    () => openEnvelope('{"ok":false,"code":"PSN_ERR_STARTING","error":"still starting"}'),
    (err: unknown) => hasCode(err, ErrorCodes.STARTING) && err.message === 'still starting',
  );
  assert.throws(
    () => openEnvelope('{"ok":false,"code":"EWHATEVER","error":"odd"}'),
    (err: unknown) => hasCode(err, ErrorCodes.COMMAND_FAILED) && err.message === 'odd',
  );
  assert.throws(
    () => openEnvelope(''),
    (err: unknown) => hasCode(err, ErrorCodes.COMMAND_FAILED) && /unreadable reply/.test(err.message),
  );
  assertProtocolError(() => openEnvelope('[]'), /reply is not an object/);
  assertProtocolError(() => openEnvelope('{"result":1}'), /reply\.ok is not true or false/);
  assertProtocolError(() => openEnvelope('{"ok":false,"error":"x"}'), /reply\.code is not a string/);
});

test('a refused request is a USAGE PortsnareError', () => {
  assert.throws(
    () => parseRequest('{"command":"reboot"}'),
    (err: unknown) => hasCode(err, ErrorCodes.USAGE),
  );
});
