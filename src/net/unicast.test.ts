import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyAddress, interfacePrefixes, nonUnicastReason, type InterfacePrefix } from './unicast.ts';

const cls = (a: string, opts = {}) => {
  const c = classifyAddress(a, opts);
  return c.unicast ? 'unicast' : c.class;
};

test('IPv4 classes that are never a real source, each with its reason', () => {
  assert.equal(nonUnicastReason('255.255.255.255'), '255.255.255.255 is the limited broadcast address');
  assert.equal(nonUnicastReason('224.0.0.1'), '224.0.0.1 is multicast (224.0.0.0/4)');
  assert.equal(nonUnicastReason('239.255.255.255'), '239.255.255.255 is multicast (224.0.0.0/4)');
  assert.equal(nonUnicastReason('0.0.0.0'), '0.0.0.0 is the unspecified address');
  assert.equal(nonUnicastReason('0.1.2.3'), '0.1.2.3 is in 0.0.0.0/8 ("this network")');
  assert.equal(nonUnicastReason('240.0.0.1'), '240.0.0.1 is reserved (240.0.0.0/4)');
  assert.equal(nonUnicastReason('255.255.255.254'), '255.255.255.254 is reserved (240.0.0.0/4)');
  assert.equal(nonUnicastReason('169.254.10.1'), '169.254.10.1 is link-local (169.254.0.0/16)');
  assert.equal(cls('169.254.10.1', { allowLinkLocal: true }), 'unicast');
  for (const ok of ['1.0.0.0', '10.0.0.1', '192.0.2.7', '223.255.255.255', '127.0.0.1', '169.253.255.255']) {
    assert.equal(cls(ok), 'unicast', ok);
  }
  assert.equal(cls('010.1.1.1'), 'invalid');
  assert.equal(cls('host.example'), 'invalid');
});

test('IPv6 classes: unspecified, multicast, link-local (unless allowed)', () => {
  assert.equal(nonUnicastReason('::'), ':: is the unspecified address');
  assert.equal(nonUnicastReason('ff02::1'), 'ff02::1 is multicast (ff00::/8)');
  assert.equal(nonUnicastReason('FF05::1:3'), 'ff05::1:3 is multicast (ff00::/8)');
  assert.equal(nonUnicastReason('fe80::1'), 'fe80::1 is link-local (fe80::/10)');
  assert.equal(nonUnicastReason('febf:ffff::1'), 'febf:ffff::1 is link-local (fe80::/10)');
  assert.equal(cls('fe80::1', { allowLinkLocal: true }), 'unicast');
  for (const ok of ['2001:db8::1', '::1', 'fec0::1', 'fe7f::1', 'fd00::1'])
    assert.equal(cls(ok), 'unicast', ok);
  assert.equal(cls('fe80::1%eth0'), 'invalid');
});

test('IPv4-mapped IPv6 is judged as its IPv4 address', () => {
  assert.equal(
    nonUnicastReason('::ffff:255.255.255.255'),
    '255.255.255.255 is the limited broadcast address',
  );
  assert.equal(cls('::ffff:224.0.0.1'), 'multicast');
  assert.equal(cls('::ffff:0.0.0.0'), 'unspecified');
  assert.equal(cls('::ffff:240.0.0.1'), 'reserved');
  assert.equal(cls('::ffff:169.254.1.1'), 'link-local');
  assert.equal(cls('::ffff:192.0.2.1'), 'unicast');
  const interfaces: InterfacePrefix[] = [{ address: '10.0.2.15', prefix: 24, name: 'eth0' }];
  assert.equal(cls('::ffff:10.0.2.255', { interfaces }), 'subnet-broadcast');
});

test("the network and broadcast addresses of the host's own subnets", () => {
  const interfaces: InterfacePrefix[] = [
    { address: '10.0.2.15', prefix: 24, name: 'eth0' },
    { address: '192.0.2.9', prefix: 31 },
    { address: '198.51.100.7', prefix: 32 },
    { address: '2001:db8:1:2::15', prefix: 64, name: 'eth0' },
    { address: '2001:db8:9::1', prefix: 127 },
  ];
  assert.equal(
    nonUnicastReason('10.0.2.255', { interfaces }),
    '10.0.2.255 is the broadcast address of 10.0.2.15/24 on eth0',
  );
  assert.equal(
    nonUnicastReason('10.0.2.0', { interfaces }),
    '10.0.2.0 is the network address of 10.0.2.15/24 on eth0',
  );
  assert.equal(cls('10.0.2.1', { interfaces }), 'unicast');
  assert.equal(cls('10.0.3.255', { interfaces }), 'unicast', 'another subnet');
  assert.equal(cls('192.0.2.8', { interfaces }), 'unicast', '/31 has no network address');
  assert.equal(cls('198.51.100.7', { interfaces }), 'unicast');
  assert.equal(
    nonUnicastReason('2001:db8:1:2::', { interfaces }),
    '2001:db8:1:2:: is the subnet-router anycast address of 2001:db8:1:2::15/64 on eth0',
  );
  assert.equal(cls('2001:db8:1:2::1', { interfaces }), 'unicast');
  assert.equal(cls('2001:db8:9::', { interfaces }), 'unicast', '/127 has no anycast address');
  // Without the interfaces, the same addresses are ordinary.
  assert.equal(cls('10.0.2.255'), 'unicast');
});

test('interfacePrefixes reads the OS list (cidr field), zone ids dropped', () => {
  const prefixes = interfacePrefixes({
    eth0: [
      {
        address: '10.0.2.15',
        netmask: '255.255.255.0',
        family: 'IPv4',
        mac: '',
        internal: false,
        cidr: '10.0.2.15/24',
      },
      {
        address: 'fe80::1%eth0',
        netmask: 'ffff:ffff:ffff:ffff::',
        family: 'IPv6',
        mac: '',
        internal: false,
        cidr: 'fe80::1/64',
        scopeid: 2,
      },
    ],
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '', internal: true, cidr: null }],
  });
  assert.deepEqual(prefixes, [
    { address: '10.0.2.15', prefix: 24, name: 'eth0' },
    { address: 'fe80::1', prefix: 64, name: 'eth0' },
  ]);
  assert.ok(interfacePrefixes().length > 0);
});
