import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, classifyTcpFlags, FIN, PSH, RST, SYN, URG } from './classify.ts';

const label = (flags: number) => {
  const c = classifyTcpFlags(flags);
  return c.hit ? c.label : null;
};

test("1.2's labels, in 1.2's order, with the NULL label's leading space", () => {
  assert.equal(label(SYN), 'TCP SYN/Normal scan');
  assert.equal(label(FIN), 'TCP FIN scan');
  assert.equal(label(0), ' TCP NULL scan');
  assert.equal(label(FIN | PSH | URG), 'TCP XMAS scan');
  assert.equal(label(SYN | FIN), 'Unknown Type: TCP Packet Flags: SYN: 1 FIN: 1 ACK: 0 PSH: 0 URG: 0 RST: 0');
  assert.equal(label(SYN | FIN | PSH | URG), 'TCP XMAS scan');
  assert.equal(label(PSH), 'Unknown Type: TCP Packet Flags: SYN: 0 FIN: 0 ACK: 0 PSH: 1 URG: 0 RST: 0');
});

test('ECE and CWR are ignored; ACK or RST is a conversation, never a hit', () => {
  assert.equal(label(SYN | 0x40 | 0x80), 'TCP SYN/Normal scan');
  assert.equal(label(0xc0), ' TCP NULL scan');
  for (const flags of [ACK, RST, SYN | ACK, FIN | ACK, RST | ACK, 0xff])
    assert.equal(label(flags), null, String(flags));
});

test('every byte value classifies without throwing', () => {
  for (let flags = 0; flags < 256; flags++) classifyTcpFlags(flags);
});
