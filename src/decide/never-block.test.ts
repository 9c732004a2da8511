import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIgnoreText } from '../config/ignore-file.ts';
import { Detector } from '../detect/detector.ts';
import { NeverBlock } from './never-block.ts';

const host = {
  addresses: () => ['10.20.0.5'],
  guarded: () => ['10.20.0.1'],
  prefixes: () => [{ address: '10.20.0.5', prefix: 24, name: 'eth0' }],
};

test('never-block lists: own, guarded, ignored, and every kind of address that is not a real peer', () => {
  const never = new NeverBlock(parseIgnoreText('ignore', '192.0.2.0/24\n'), host);
  const detector = new Detector(never.lists(), { scanTrigger: 0, stealthPorts: 3, stealthWindowMs: 10_000 });
  const reasons = (address: string) => {
    const why = detector.listed(address);
    return why === null ? null : never.reason(address, why);
  };
  assert.equal(reasons('10.20.0.5'), 'it is an address of this host');
  assert.equal(reasons('10.20.0.1'), 'it is a default gateway or a resolver of this host');
  assert.equal(reasons('192.0.2.77'), 'it is on the ignore list');
  assert.equal(reasons('255.255.255.255'), 'it is the limited broadcast address');
  assert.equal(reasons('10.20.0.255'), 'it is the broadcast address of 10.20.0.5/24 on eth0');
  assert.equal(reasons('10.20.0.0'), 'it is the network address of 10.20.0.5/24 on eth0');
  // (0.0.0.0 and :: are on the own list already, as the host's "any" addresses.)
  assert.notEqual(detector.listed('0.0.0.0'), null);
  assert.notEqual(detector.listed('::'), null);
  for (const address of ['224.0.0.1', '240.0.0.1', 'ff02::1', 'fe80::1', '169.254.1.1']) {
    assert.equal(detector.listed(address), 'not-a-peer', address);
    assert.match(reasons(address) ?? '', /^it is /, address);
  }
  assert.equal(reasons('198.51.100.9'), null);
});
