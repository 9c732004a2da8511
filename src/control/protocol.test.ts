/**
 * @module control/protocol.test
 * The control protocol: requests checked field by field (refusals are USAGE errors), durations,
 * and the wire view of a ban.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, hasCode } from '../errors.ts';
import { banView, parseDuration, parseRequest } from './protocol.ts';

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

test('a refused request is a USAGE PortsnareError', () => {
  assert.throws(
    () => parseRequest('{"command":"reboot"}'),
    (err: unknown) => hasCode(err, ErrorCodes.USAGE),
  );
});
