import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpv4Gateways, parseIpv6Gateways, parseResolvers } from './protected-hosts.ts';

test('IPv4 default gateways from /proc/net/route', () => {
  const text = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t0102000A\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'garbage',
  ].join('\n');
  assert.deepEqual(parseIpv4Gateways(text), ['10.0.2.1']);
});

test('IPv6 default next hops from /proc/net/ipv6_route', () => {
  const text = [
    '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth0',
    '20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0',
    '00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo',
  ].join('\n');
  assert.deepEqual(parseIpv6Gateways(text), ['fe80::1']);
});

test('resolvers from resolv.conf; junk is ignored', () => {
  const text =
    '# comment\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nnameserver fe80::1%eth0\nnameserver bogus\nsearch example\n';
  assert.deepEqual(parseResolvers(text), ['192.0.2.53', '2001:db8::53', 'fe80::1']);
});
