import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressText } from '../net/address-words.ts';
import type { DecodedPacket } from '../packets/decode.ts';
import { probeFromPacket, type PacketContext, type WatchPlan } from './packet-probe.ts';

const plan: WatchPlan = {
  tcp: { mode: 'atcp', ports: null, below: 1024, exclude: new Set([113]) },
  udp: { mode: 'sudp', ports: new Set([69]), below: 0, exclude: new Set() },
};
const served = new Set(['tcp/10.0.0.1/25']);
const ctx: PacketContext = {
  isLocal: (a) => ['10.0.0.1', '2001:db8::1'].includes(addressText(a)),
  isServed: (p, d, port) => served.has(`${p}/${addressText(d)}/${port}`),
};
const packet = (over: Partial<DecodedPacket>): DecodedPacket => ({
  family: 4,
  source: '203.0.113.9',
  destination: '10.0.0.1',
  protocol: 'tcp',
  sourcePort: 40000,
  destinationPort: 1,
  tcpFlags: 0x02,
  ipOptions: false,
  ...over,
});
const verdict = (over: Partial<DecodedPacket>) => probeFromPacket(packet(over), plan, ctx, 1000);

test('a SYN to a watched port of a local address is a probe with its label', () => {
  assert.deepEqual(verdict({}), {
    kind: 'probe',
    event: {
      mode: 'atcp',
      protocol: 'tcp',
      evidence: 'packet',
      source: '203.0.113.9',
      port: 1,
      destination: '10.0.0.1',
      time: 1000,
      label: 'TCP SYN/Normal scan',
    },
  });
  const v6 = verdict({
    family: 6,
    source: '2001:db8::9',
    destination: '2001:db8::1',
    tcpFlags: 0x29,
    ipOptions: false,
  });
  assert.equal(v6.kind === 'probe' && v6.event.label, 'TCP XMAS scan');
  const options = verdict({ ipOptions: true });
  assert.equal(options.kind === 'probe' && options.event.ipOptions, true);
  const udp = verdict({ protocol: 'udp', destinationPort: 69, tcpFlags: 0 });
  assert.deepEqual(udp, {
    kind: 'probe',
    event: {
      mode: 'sudp',
      protocol: 'udp',
      evidence: 'packet',
      source: '203.0.113.9',
      port: 69,
      destination: '10.0.0.1',
      time: 1000,
    },
  });
});

test('what is not a probe says why', () => {
  assert.deepEqual(verdict({ destination: '10.0.0.2' }), { kind: 'skip', reason: 'not-local' });
  assert.deepEqual(verdict({ destinationPort: 1024 }), { kind: 'skip', reason: 'not-watched' });
  assert.deepEqual(verdict({ destinationPort: 113 }), { kind: 'skip', reason: 'not-watched' });
  assert.deepEqual(verdict({ protocol: 'udp', destinationPort: 70, tcpFlags: 0 }), {
    kind: 'skip',
    reason: 'not-watched',
  });
  assert.deepEqual(verdict({ tcpFlags: 0x12 }), { kind: 'skip', reason: 'conversation' });
  assert.deepEqual(verdict({ tcpFlags: 0x04 }), { kind: 'skip', reason: 'conversation' });
  assert.deepEqual(verdict({ destinationPort: 25 }), { kind: 'skip', reason: 'served' });
});
