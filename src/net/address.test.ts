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

test('IPv4-mapped prefixes are IPv6 prefix lengths: /96 is all of IPv4, below /96 is refused', () => {
  assert.equal(formatCidr(cidr('::ffff:0:0/96')), '0.0.0.0/0');
  assert.ok(cidrContains(cidr('::ffff:0:0/96'), '203.0.113.9'));
  assert.ok(!cidrContains(cidr('::ffff:0:0/96'), '2001:db8::1'));
  assert.equal(formatCidr(cidr('::ffff:10.99.1.0/120')), '10.99.1.0/24');
  assert.equal(formatCidr(cidr('::ffff:10.99.1.7/128')), '10.99.1.7/32');
  assert.equal(formatCidr(cidr('::ffff:10.99.1.7')), '10.99.1.7/32');
  assert.deepEqual(parseCidr('::ffff:10.99.1.0/24'), {
    ok: false,
    reason:
      '"::ffff:10.99.1.0/24": an IPv4-mapped address takes a prefix of /96 to /128 (as IPv6 this is a /24, far more than the IPv4 block); write 10.99.1.0/24 or ::ffff:10.99.1.0/120',
  });
  assert.deepEqual(parseCidr('::ffff:10.99.1.0/129'), {
    ok: false,
    reason: 'invalid netmask "/129" (expected /0 to /128)',
  });
  // IPv4-compatible (deprecated) stays IPv6
  assert.equal(formatCidr(cidr('::10.0.0.1/120')), '::a00:0/120');
});

test('CidrSet: a million hosts, merged neighbours, nested blocks, both families', () => {
  const set = new CidrSet();
  for (let i = 0; i < 1000; i++) set.addAddress(`10.1.${i >> 8}.${i & 255}`);
  set.add(cidr('10.1.0.0/24')); // nested in the hosts above
  set.add(cidr('10.0.0.0/16'));
  set.add(cidr('2001:db8::/32'));
  set.add(cidr('2001:db8:1::/48'));
  set.addAddress('2001:db9::1');
  set.add(cidr('::ffff:0:0/96'));
  assert.deepEqual(set.ranges, { v4: 1, v6: 2 }, 'everything IPv4 merged into 0.0.0.0/0');
  assert.ok(set.has('255.255.255.255') && set.has('0.0.0.0'));
  assert.ok(set.has('2001:db8:ffff::1') && set.has('2001:db9::1'));
  assert.ok(!set.has('2001:db9::2') && !set.has('2001:db7:ffff:ffff:ffff:ffff:ffff:ffff'));
  assert.ok(set.has('2001:db8::') && !set.has('::'));
  const hosts = new CidrSet();
  for (let i = 0; i < 1000; i++) hosts.addAddress(`10.1.${i >> 8}.${i & 255}`);
  assert.deepEqual(hosts.ranges, { v4: 1, v6: 0 }, 'adjacent hosts become one range');
  assert.ok(hosts.has('10.1.3.231') && !hosts.has('10.1.3.232') && hosts.has('10.1.0.0'));
  hosts.addAddress('10.1.3.233'); // added after a lookup: rebuilt at the next one
  assert.ok(hosts.has('10.1.3.233') && !hosts.has('10.1.3.232'));
  assert.equal(hosts.size, 1001);
  const edge = new CidrSet();
  edge.add(cidr('255.255.255.254/31'));
  edge.add(cidr('ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124'));
  edge.add(cidr('::/128'));
  assert.ok(edge.has('255.255.255.255') && !edge.has('255.255.255.253'));
  assert.ok(edge.has('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff') && edge.has('::') && !edge.has('::1'));
});

test('CidrSet agrees with cidrContains on random IPv6 blocks and addresses', () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) & 0xffff;
  const hex = () => (rand() % 3).toString(16);
  const blocks: Cidr[] = [];
  const set = new CidrSet();
  for (let i = 0; i < 12; i++) {
    const text = `2001:db8:${hex()}:${hex()}::${hex()}/${100 + (rand() % 29)}`;
    const block = cidr(text);
    blocks.push(block);
    set.add(block);
  }
  let hits = 0;
  for (let i = 0; i < 3000; i++) {
    const address = canonicalAddress(`2001:db8:${hex()}:${hex()}::${hex()}`) ?? '';
    const expected = blocks.some((b) => cidrContains(b, address));
    if (expected) hits++;
    assert.equal(set.has(address), expected, address);
  }
  assert.ok(hits > 100 && hits < 2900, `a useful mix of hits and misses (${hits})`);
});

test('CidrSet reads every canonical IPv6 text form (:: anywhere) the same as parseCidr', () => {
  let seed = 3;
  const r = () => (seed = (seed * 1103515245 + 12345) >>> 0);
  for (let i = 0; i < 5000; i++) {
    const groups = Array.from({ length: 8 }, () => (r() % 4 === 0 ? 0 : r() & 0xffff).toString(16));
    const address = canonicalAddress(groups.join(':')) ?? '';
    const viaCidr = new CidrSet();
    viaCidr.add(cidr(address));
    const viaText = new CidrSet();
    viaText.addAddress(address);
    assert.ok(viaCidr.has(address) && viaText.has(address), address);
  }
  const set = new CidrSet();
  set.addAddress('::1');
  for (const junk of [':::', '1::2::3', '1:', ':1', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9']) {
    assert.equal(set.has(junk), false, junk);
  }
});
