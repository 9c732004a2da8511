import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFilter, portClause } from './bpf.ts';

test('ports are compressed into ranges', () => {
  assert.equal(portClause([5, 1, 2, 3, 9, 10]), 'dst portrange 1-3 or dst port 5 or dst portrange 9-10');
  assert.equal(portClause([143]), 'dst port 143');
});

test('stealth and advanced plans, restricted to the host addresses', () => {
  const filter = buildFilter(
    {
      tcp: { mode: 'stcp', ports: new Set([1, 11, 12]), below: 0, exclude: new Set() },
      udp: { mode: 'audp', ports: null, below: 1024, exclude: new Set([137]) },
    },
    ['10.0.0.1', '2001:db8::1'],
  );
  assert.equal(
    filter,
    '(dst host 10.0.0.1 or dst host 2001:db8::1) and ((tcp and (dst port 1 or dst portrange 11-12)) or ' +
      '(udp and dst portrange 0-1023) or (ip6 and not ip6 proto 6 and not ip6 proto 17 and not ip6 proto 58))',
  );
});

test('a compiled filter is accepted by libpcap', async () => {
  // tcpdump -d compiles without capturing; it proves the syntax against the real libpcap.
  const { execFileSync } = await import('node:child_process');
  const filter = buildFilter(
    { tcp: { mode: 'atcp', ports: null, below: 1024, exclude: new Set() }, udp: null },
    ['192.0.2.1', 'fe80::1'],
  );
  try {
    execFileSync('tcpdump', ['-d', '-y', 'EN10MB', filter], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { code?: string; stderr?: Buffer };
    assert.fail(
      e.code === 'ENOENT'
        ? 'tcpdump is missing: apt-get install tcpdump'
        : `libpcap rejected: ${String(e.stderr)}`,
    );
  }
});
