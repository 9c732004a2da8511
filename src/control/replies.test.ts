/**
 * @module control/replies.test
 * Replies from the daemon: each command's result decoded to its type (unchanged, key order kept),
 * a result of the wrong shape refused with ErrorCodes.PROTOCOL, and the envelope's error codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, hasCode } from '../errors.ts';
import type { ControlCommand, ControlResults } from './protocol.ts';
import { openEnvelope, parseReply } from './replies.ts';

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
