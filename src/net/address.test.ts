import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalAddress, cidrContains, formatCidr, parseCidr, type Cidr } from './address.ts';
import { CidrSet } from './cidr-set.ts';

const cidr = (text: string): Cidr => {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.cidr;
};

test('canonicalAddress accepts exactly one address and gives one text for it', () => {
  assert.equal(canonicalAddress('10.0.0.1'), '10.0.0.1');
  assert.equal(canonicalAddress('2001:DB8:0:0::1'), '2001:db8::1');
  assert.equal(canonicalAddress('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(canonicalAddress('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(canonicalAddress('::'), '::');
  assert.equal(canonicalAddress('::1.2.3.4'), '::102:304', 'IPv4-compatible is IPv6, not the IPv4 host');
  assert.equal(canonicalAddress('::FFFF:10.0.0.1'), '10.0.0.1');
  for (const bad of [
    '1.2.3.4;reboot',
    '1.2.3',
    '10/8',
    '010.1.2.3',
    '1.2.3.4 ',
    ' 1.2.3.4',
    'fe80::1%eth0',
    'host.example',
    '',
    '$(reboot)',
    '1.2.3.4\n',
  ]) {
    assert.equal(canonicalAddress(bad), null, JSON.stringify(bad));
  }
});

test('CIDR edges: /0 covers everything, /32 one host, host bits are masked', () => {
  assert.ok(cidrContains(cidr('0.0.0.0/0'), '203.0.113.9'));
  assert.ok(!cidrContains(cidr('0.0.0.0/0'), '2001:db8::1'), 'an IPv4 block never covers IPv6');
  assert.ok(cidrContains(cidr('::/0'), '2001:db8::1'));
  assert.ok(cidrContains(cidr('10.231.0.77/24'), '10.231.0.2'));
  assert.ok(!cidrContains(cidr('10.231.0.0/24'), '10.231.1.2'));
  assert.ok(cidrContains(cidr('10.231.0.2/31'), '10.231.0.3'));
  assert.ok(!cidrContains(cidr('10.231.0.2/31'), '10.231.0.4'));
  assert.ok(cidrContains(cidr('192.0.2.1'), '192.0.2.1'));
  assert.ok(!cidrContains(cidr('192.0.2.1/32'), '192.0.2.2'));
  assert.ok(cidrContains(cidr('10.0.0.0/9'), '10.127.255.255'));
  assert.ok(!cidrContains(cidr('10.0.0.0/9'), '10.128.0.0'));
  assert.ok(cidrContains(cidr('2001:db8:1::/48'), '2001:db8:1:ffff::1'));
  assert.ok(!cidrContains(cidr('2001:db8:1::/48'), '2001:db8:2::1'));
  assert.ok(cidrContains(cidr('2001:db8::1/127'), '2001:db8::'));
  assert.ok(cidrContains(cidr('2001:db8::/128'), '2001:db8::'));
  assert.equal(formatCidr(cidr('10.231.0.77/24')), '10.231.0.0/24');
  assert.equal(formatCidr(cidr('2001:DB8::ff/120')), '2001:db8::/120');
});

test('bad CIDR text is refused with a reason', () => {
  assert.deepEqual(parseCidr('10.0.0.1/33'), {
    ok: false,
    reason: 'invalid netmask "/33" (expected /0 to /32)',
  });
  assert.deepEqual(parseCidr('2001:db8::/129'), {
    ok: false,
    reason: 'invalid netmask "/129" (expected /0 to /128)',
  });
  assert.deepEqual(parseCidr('10/8'), { ok: false, reason: '"10" is not an IPv4 or IPv6 address' });
  assert.deepEqual(parseCidr('10.0.0.1/'), { ok: false, reason: 'invalid netmask "/" (expected /0 to /32)' });
  assert.deepEqual(parseCidr('10.0.0.1/-1'), {
    ok: false,
    reason: 'invalid netmask "/-1" (expected /0 to /32)',
  });
});

test('CidrSet answers for hosts and blocks of both families', () => {
  const set = new CidrSet();
  set.add(cidr('192.0.2.5'));
  set.add(cidr('198.51.100.0/24'));
  set.add(cidr('2001:db8:aa::/64'));
  set.addAddress('2001:db8::9');
  assert.ok(set.has('192.0.2.5'));
  assert.ok(!set.has('192.0.2.6'));
  assert.ok(set.has('198.51.100.200'));
  assert.ok(set.has('2001:db8:aa::77'));
  assert.ok(set.has('2001:db8::9'));
  assert.ok(!set.has('2001:db8::a'));
  assert.equal(set.size, 4);
});

test('CidrSet IPv4 blocks agree with cidrContains on every prefix length', () => {
  const samples = [
    '0.0.0.0',
    '10.127.255.255',
    '10.128.0.0',
    '192.0.2.1',
    '203.0.113.255',
    '255.255.255.255',
  ];
  for (let prefix = 0; prefix < 32; prefix++) {
    const block = cidr(`10.200.17.77/${prefix}`);
    const set = new CidrSet();
    set.add(block);
    for (const address of [...samples, '10.200.17.76', '10.200.16.1', '10.201.0.0']) {
      assert.equal(set.has(address), cidrContains(block, address), `${address} in /${prefix}`);
    }
  }
});
