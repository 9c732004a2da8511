import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfText } from '../config/conf-file.ts';
import { settingsFromConf } from '../config/settings.ts';
import { watchesPort } from '../detect/packet-probe.ts';
import { formatMessage } from '../report/messages.ts';
import { buildWatchPlan } from './watch-plan.ts';

const settings = (text: string) => settingsFromConf(parseConfText('/t.conf', text)).settings;

test('-stcp drops listed ports in use, with 1.2 lines', () => {
  const result = buildWatchPlan(settings('TCP_PORTS="1,79,111,143"'), ['stcp'], (p) =>
    p === 'tcp' ? [22, 79, 111] : [],
  );
  assert.deepEqual(result.messages.map(formatMessage), [
    'adminalert: Going into stealth listen mode on TCP port: 1',
    'adminalert: ERROR: Socket 79 is in use and will not be monitored. Attempting to continue',
    'adminalert: ERROR: Socket 111 is in use and will not be monitored. Attempting to continue',
    'adminalert: Going into stealth listen mode on TCP port: 143',
  ]);
  assert.deepEqual([...(result.plan.tcp?.ports ?? [])], [1, 143]);
  assert.equal(result.plan.udp, null);
  assert.equal(result.error, null);
});

test('-audp: range, manual exclusions, in-use ports listed first', () => {
  const result = buildWatchPlan(settings('ADVANCED_PORTS_UDP="1024"'), ['audp'], (p) =>
    p === 'udp' ? [53, 137] : [],
  );
  assert.deepEqual(result.messages.map(formatMessage), [
    'adminalert: Advanced mode will monitor first 1024 ports',
    'adminalert: Advanced mode will manually exclude port: 520 ',
    'adminalert: Advanced mode will manually exclude port: 138 ',
    'adminalert: Advanced mode will manually exclude port: 137 ',
    'adminalert: Advanced mode will manually exclude port: 67 ',
    'adminalert: Advanced Stealth scan detection mode activated. Ignored UDP port: 53',
    'adminalert: Advanced Stealth scan detection mode activated. Ignored UDP port: 520',
    'adminalert: Advanced Stealth scan detection mode activated. Ignored UDP port: 138',
    'adminalert: Advanced Stealth scan detection mode activated. Ignored UDP port: 137',
    'adminalert: Advanced Stealth scan detection mode activated. Ignored UDP port: 67',
  ]);
  const watch = result.plan.udp!;
  assert.ok(watchesPort(watch, 1023));
  assert.ok(!watchesPort(watch, 1024));
  assert.ok(!watchesPort(watch, 137));
  // In-use ports are not frozen into the plan: the live socket table decides per packet.
  assert.ok(watchesPort(watch, 53));
});

test('no exclusions, and a stealth mode with every port in use', () => {
  const none = buildWatchPlan(settings('ADVANCED_EXCLUDE_TCP=""'), ['atcp'], () => []);
  assert.deepEqual(none.messages.map(formatMessage).slice(0, 2), [
    'adminalert: Advanced mode will monitor first 1024 ports',
    'adminalert: Advanced mode will manually exclude no ports',
  ]);
  const busy = buildWatchPlan(settings('UDP_PORTS="53"'), ['sudp'], () => [53]);
  assert.equal(busy.error, 'all UDP ports are in use');
  assert.equal(
    formatMessage(busy.messages.at(-1)!),
    'adminalert: ERROR: All supplied UDP sockets are in use and will not be listened to. Shutting down.',
  );
});
