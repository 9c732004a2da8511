import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalAddress } from './address.ts';
import { addressText, isV4Words, wordsOfCanonical } from './address-words.ts';
import { CidrSet } from './cidr-set.ts';
import { prng } from '../../test/builders/fuzz.ts';

test('words and canonical text go both ways, IPv4 in its mapped form', () => {
  const words = new Uint32Array(4);
  for (const text of [
    '0.0.0.0',
    '203.0.113.9',
    '255.255.255.255',
    '::',
    '::1',
    '2001:db8::1',
    'fe80::',
    '1:0:0:1::1',
    '2001:db8:0:0:1:0:0:1',
    'ff02::1:ff00:1',
  ]) {
    const canonical = canonicalAddress(text)!;
    assert.ok(wordsOfCanonical(canonical, words), text);
    assert.equal(addressText(words), canonical, text);
    assert.equal(isV4Words(words), !canonical.includes(':'), text);
  }
  // An IPv4-mapped IPv6 address is the IPv4 address, as canonicalAddress says.
  assert.ok(wordsOfCanonical('::ffff:0:0', words) && isV4Words(words));
  assert.equal(addressText(Uint32Array.of(0, 0, 0xffff, 0xc0000201)), '192.0.2.1');
});

test('random IPv6 addresses format as canonicalAddress does (RFC 5952)', () => {
  const r = prng(7);
  const words = new Uint32Array(4);
  for (let i = 0; i < 2000; i++) {
    // Sparse groups, so runs of zero groups of every length and place come up.
    const groups = Array.from({ length: 8 }, () => (r() < 0.5 ? 0 : Math.floor(r() * 65536)));
    for (let w = 0; w < 4; w++) words[w] = ((groups[2 * w]! << 16) | groups[2 * w + 1]!) >>> 0;
    const expected = canonicalAddress(groups.map((g) => g.toString(16)).join(':'));
    assert.equal(addressText(words), expected);
  }
});

test('CidrSet answers the same from words as from text', () => {
  const set = new CidrSet();
  set.addAddress('203.0.113.9');
  set.addAddress('2001:db8::9');
  const words = new Uint32Array(4);
  for (const [text, inside] of [
    ['203.0.113.9', true],
    ['203.0.113.10', false],
    ['2001:db8::9', true],
    ['2001:db8::a', false],
  ] as const) {
    wordsOfCanonical(text, words);
    assert.equal(set.hasWords(words), inside, text);
    assert.equal(set.has(text), inside, text);
  }
});
