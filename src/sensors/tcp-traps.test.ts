// Tests for src/sensors/tcp-traps.ts and, through it, the native TcpTrap. Loopback only (127.0.0.1
// and ::1), no root needed. Run: node --import tsx --test src/sensors/tcp-traps.test.ts
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { canonicalSource, openTcpTraps, type TcpConnectHit, type TcpTrapOptions } from './tcp-traps.ts';

const TRAPS_URL = new URL('./tcp-traps.ts', import.meta.url).href;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function canListenOn(host: string): Promise<boolean> {
  const server = net.createServer();
  try {
    server.listen(0, host);
    await once(server, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

const HAS_IPV6 = await canListenOn('::1');
const FAMILIES: (4 | 6)[] = HAS_IPV6 ? [4, 6] : [4];
const LOOPBACK = { 4: '127.0.0.1', 6: '::1' } as const;

/** Opens traps that record hits (answering with `banner`), closed when the test ends. */
function openRecording(
  t: TestContext,
  {
    banner = null,
    ...overrides
  }: Partial<Omit<TcpTrapOptions, 'onHit' | 'onAcceptError'>> & { banner?: Buffer | null },
) {
  const hits: TcpConnectHit[] = [];
  const acceptErrors: string[] = [];
  const set = openTcpTraps({
    ports: [0],
    families: FAMILIES,
    onHit: (hit) => {
      hits.push(hit);
      return banner;
    },
    onAcceptError: (_port, _family, code) => acceptErrors.push(code),
    ...overrides,
  });
  t.after(() => set.close());
  const portOf = (family: 4 | 6): number => {
    const entry = set.bound.find((b) => b.family === family);
    assert.ok(entry, `no family-${family} trap bound: ${JSON.stringify(set.failed)}`);
    return entry.port;
  };
  return { set, hits, acceptErrors, portOf };
}

async function waitUntil(done: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Connects, reads until the server closes, and reports the client's own port and the bytes received. */
async function connectAndRead(host: string, port: number): Promise<{ localPort: number; data: Buffer }> {
  const socket = net.connect({ host, port });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(socket, 'connect');
  const localPort = socket.localPort ?? -1;
  await once(socket, 'close');
  return { localPort, data: Buffer.concat(chunks) };
}

function runChild(code: string, shellPrefix = ''): Promise<{ stdout: string; stderr: string }> {
  const nodeArgs = ['--import', 'tsx', '--input-type=module', '-e', code];
  const [file, args] = shellPrefix
    ? ['/bin/sh', ['-c', `${shellPrefix}; exec "$0" "$@"`, process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  return promisify(execFile)(file, args, { cwd: REPO_ROOT, timeout: 10_000, killSignal: 'SIGKILL' });
}

void test('canonicalSource maps IPv4-mapped IPv6 to IPv4 and leaves other text canonical', () => {
  assert.equal(canonicalSource('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(canonicalSource('::FFFF:10.1.2.3'), '10.1.2.3');
  assert.equal(canonicalSource('192.0.2.7'), '192.0.2.7');
  assert.equal(canonicalSource('::1'), '::1');
  assert.equal(canonicalSource('2001:DB8::A'), '2001:db8::a');
  // glibc prints an IPv4-compatible peer (::102:304) as ::1.2.3.4: still an IPv6 peer, not 1.2.3.4.
  assert.equal(canonicalSource('::1.2.3.4'), '::102:304');
  assert.equal(canonicalSource('64:ff9b::192.0.2.1'), '64:ff9b::c000:201');
  assert.equal(canonicalSource('::ffff:0:1.2.3.4'), '::ffff:0:102:304'); // IPv4-translated, not mapped
  assert.equal(canonicalSource(''), null);
});

void test('binds an ephemeral port for each family and reports the real port', (t) => {
  const { set, portOf } = openRecording(t, {});
  assert.deepEqual(set.failed, []);
  assert.deepEqual(
    set.bound.map((b) => b.family),
    FAMILIES,
  );
  for (const family of FAMILIES) assert.ok(portOf(family) > 0);
});

for (const family of [4, 6] as const) {
  void test(
    `attributes a client from ${LOOPBACK[family]} (family ${family})`,
    { skip: !HAS_IPV6 && family === 6 },
    async (t) => {
      const { hits, portOf } = openRecording(t, { families: [family] });
      const port = portOf(family);
      const { localPort, data } = await connectAndRead(LOOPBACK[family], port);
      await waitUntil(() => hits.length === 1, 'the hit');
      assert.deepEqual(hits, [{ source: LOOPBACK[family], sourcePort: localPort, port, family }]);
      assert.equal(data.length, 0, 'a null banner sends no bytes');
    },
  );
}

void test('sends the banner bytes exactly, then closes the connection', async (t) => {
  const banner = Buffer.from([0x53, 0x53, 0x48, 0x2d, 0x00, 0xff, 0x80, 0x0d, 0x0a, 0x7f]);
  const { hits, portOf } = openRecording(t, { banner });
  for (const family of FAMILIES) {
    const { data } = await connectAndRead(LOOPBACK[family], portOf(family));
    assert.deepEqual(data, banner);
  }
  assert.equal(hits.length, FAMILIES.length);
});

void test('attributes 200/200 connections that reset right after connecting', async (t) => {
  // A backlog large enough for the burst: with PortSentry's 5 the kernel drops SYNs and the
  // clients only get in after SYN retransmits, which makes the test slow, not different.
  const { hits, acceptErrors, portOf } = openRecording(t, { families: [4], backlog: 256 });
  const port = portOf(4);
  const count = 200;
  let connected = 0;
  for (let i = 0; i < count; i++) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => {}); // a reset peer may race our RST; only the server side matters
    socket.on('connect', () => {
      connected++;
      socket.resetAndDestroy();
    });
  }
  await waitUntil(() => hits.length >= count, `${count} hits (have ${hits.length})`);
  await new Promise((resolve) => setTimeout(resolve, 50)); // nothing extra may trickle in
  assert.equal(connected, count);
  assert.equal(hits.length, count);
  assert.equal(
    hits.filter((h) => h.source === '127.0.0.1' && h.sourcePort > 0 && h.port === port).length,
    count,
  );
  assert.equal(new Set(hits.map((h) => h.sourcePort)).size, count);
  assert.deepEqual(acceptErrors, []);
});

void test('a port held by another listener fails with EADDRINUSE and its own port number', async (t) => {
  const holder = net.createServer();
  holder.listen(0, HAS_IPV6 ? '::' : '0.0.0.0'); // '::' is dual-stack: it holds the IPv4 port too
  await once(holder, 'listening');
  t.after(() => holder.close());
  const held = (holder.address() as net.AddressInfo).port;

  const { set } = openRecording(t, { ports: [0, held, 0] });
  assert.deepEqual(
    set.failed.map(({ port, family, code }) => ({ port, family, code })),
    FAMILIES.map((family) => ({ port: held, family, code: 'EADDRINUSE' })),
  );
  for (const failure of set.failed) assert.match(failure.message, new RegExp(`bind EADDRINUSE.*:${held}$`));
  assert.equal(set.bound.length, 2 * FAMILIES.length);
  for (const b of set.bound) assert.ok(b.port > 0 && b.port !== held);
});

// The port-0 trap opened before the bad port must be closed again, or this file's process would hang.
void test('a non-system error (invalid port) throws instead of being recorded', () => {
  assert.throws(
    () => openTcpTraps({ ports: [0, 70000], families: [4], onHit: () => null, onAcceptError: () => {} }),
    RangeError,
  );
});

void test('close() leaves no active handles: the process exits on its own', async () => {
  const { stdout } = await runChild(`
    import net from 'node:net';
    const { openTcpTraps } = await import(${JSON.stringify(TRAPS_URL)});
    let hits = 0;
    const set = openTcpTraps({ ports: [0], families: [4], onHit: () => (hits++, Buffer.from('x')), onAcceptError() {} });
    const client = net.connect(set.bound[0].port, '127.0.0.1');
    client.resume();
    client.on('close', () => { set.close(); set.close(); console.log('hits=' + hits); });
  `);
  assert.equal(stdout.trim(), 'hits=1');
});

void test('an onHit that throws closes the connection and surfaces as uncaughtException', async () => {
  const { stdout } = await runChild(`
    import net from 'node:net';
    const { openTcpTraps } = await import(${JSON.stringify(TRAPS_URL)});
    process.on('uncaughtException', (err) => console.log('uncaught ' + err.message));
    const set = openTcpTraps({ ports: [0], families: [4], onHit: () => { throw new Error('boom'); }, onAcceptError() {} });
    const client = net.connect(set.bound[0].port, '127.0.0.1');
    let bytes = 0;
    client.on('data', (d) => { bytes += d.length; });
    client.on('close', () => { console.log('closed bytes=' + bytes); set.close(); });
  `);
  assert.deepEqual(stdout.trim().split('\n').sort(), ['closed bytes=0', 'uncaught boom']);
});

void test('accept failing with EMFILE is reported, and the next readable event recovers', async () => {
  // Node raises the soft fd limit to the hard one, so the shell lowers both before exec'ing node.
  const { stdout } = await runChild(
    `
    import fs from 'node:fs';
    import net from 'node:net';
    const { openTcpTraps } = await import(${JSON.stringify(TRAPS_URL)});
    const spare = [];
    const events = [];
    const set = openTcpTraps({
      ports: [0], families: [4],
      onHit: (hit) => { events.push('hit ' + hit.source); return null; },
      onAcceptError: (port, family, code) => {
        events.push('error ' + code + ' ' + (port === set.bound[0].port) + ' ' + family);
        while (spare.length) fs.closeSync(spare.pop());
      },
    });
    try { for (;;) spare.push(fs.openSync('/dev/null', 'r')); } catch {}
    fs.closeSync(spare.pop()); // room for the client's socket only
    const client = net.connect(set.bound[0].port, '127.0.0.1');
    client.resume();
    client.on('close', () => { set.close(); console.log(events.join('\\n')); });
  `,
    'ulimit -n 200',
  );
  assert.deepEqual(stdout.trim().split('\n'), ['error EMFILE true 4', 'hit 127.0.0.1']);
});
