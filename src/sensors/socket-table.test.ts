// Tests for src/sensors/socket-table.ts. The unit tests parse literal /proc/net text (captured from a
// real kernel, then edited) and drive SocketTable over a fake procRoot with an injected clock. The
// live tests read this machine's real /proc inside a lab network namespace; they need root and are
// skipped without it. Run: node --import tsx --test src/sensors/socket-table.test.ts
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { createLab, waitFor, type Lab, type LabHost, type LabProcess } from '../../test/helpers/netns.ts';
import { parseProcNet, SocketTable } from './socket-table.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROBE = fileURLToPath(new URL('../../test/fixtures/processes/socket-table-probe.ts', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Literal /proc/net text.

const HEADER4 =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const HEADER6 =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const TAIL = '00000000:00000000 00:00000000 00000000     0        0 205386 1 00000000e1241818 100 0 0 10 0';

/** One /proc/net line; `local` and `remote` as the kernel prints them (`HEXADDR:HEXPORT`). */
const line = (sl: number, local: string, remote: string, st: string) =>
  `${String(sl).padStart(4)}: ${local} ${remote} ${st} ${TAIL}`;
const ANY4 = '00000000:0000';
const ANY6 = '00000000000000000000000000000000:0000';

// Local addresses as /proc prints them (u32 words, little-endian).
const V4 = { any: '00000000', loopback: '0100007F', ten: '0100000A' }; // 0.0.0.0, 127.0.0.1, 10.0.0.1
const V6 = {
  any: '00000000000000000000000000000000', // ::
  loopback: '00000000000000000000000001000000', // ::1
  doc: 'B80D0120000000000000000001000000', // 2001:db8::1
  mapped: '0000000000000000FFFF00000100007F', // ::ffff:127.0.0.1
  mappedAny: '0000000000000000FFFF000000000000', // ::ffff:0.0.0.0
};

const TCP4 = [
  HEADER4,
  line(0, `${V4.loopback}:001A`, ANY4, '0A'), // LISTEN 127.0.0.1:26
  line(1, `${V4.any}:0019`, ANY4, '0A'), // LISTEN 0.0.0.0:25
  line(2, `${V4.ten}:0016`, ANY4, '0A'), // LISTEN 10.0.0.1:22
  line(3, `${V4.ten}:0016`, '1400000A:D431', '01'), // ESTABLISHED 10.0.0.1:22 <- 10.0.0.20
  line(4, `${V4.ten}:006F`, '1400000A:B118', '06'), // TIME_WAIT 10.0.0.1:111
  line(5, `${V4.ten}:9F62`, '1400000A:0050', '02'), // SYN_SENT from an ephemeral port
  line(6, `${V4.any}:0050`, ANY4, '07'), // CLOSE (bound, never listened)
  '',
].join('\n');

const TCP6 = [
  HEADER6,
  line(0, `${V6.any}:001B`, ANY6, '0A'), // LISTEN [::]:27
  line(1, `${V6.loopback}:001C`, ANY6, '0A'), // LISTEN [::1]:28
  line(2, `${V6.mapped}:001D`, ANY6, '0A'), // LISTEN [::ffff:127.0.0.1]:29
  line(3, `${V6.doc}:01BB`, ANY6, '0A'), // LISTEN [2001:db8::1]:443
  line(4, `${V6.doc}:01BB`, 'B80D0120000000000000000014000000:C350', '01'), // ESTABLISHED
  line(5, `${V6.mapped}:006F`, ANY6, '06'), // TIME_WAIT
  '',
].join('\n');

const UDP4 = [
  HEADER4 + ' ref pointer drops',
  line(280, `${V4.any}:0035`, ANY4, '07'), // bound 0.0.0.0:53
  line(6485, `${V4.loopback}:9872`, '0100007F:0035', '01'), // connected 127.0.0.1:39026 -> :53
  '',
].join('\n');

const UDP6 = [
  HEADER6 + ' ref pointer drops',
  line(5580, `${V6.loopback}:14E9`, ANY6, '07'), // bound [::1]:5353
  line(5581, `${V6.any}:0202`, ANY6, '07'), // bound [::]:514
  '',
].join('\n');

void test('parseProcNet: TCP counts LISTEN sockets only, not ESTABLISHED, TIME_WAIT, SYN_SENT or CLOSE', () => {
  assert.deepEqual(parseProcNet(TCP4, 'tcp', 4), [
    { protocol: 'tcp', family: 4, address: '127.0.0.1', port: 26 },
    { protocol: 'tcp', family: 4, address: '0.0.0.0', port: 25 },
    { protocol: 'tcp', family: 4, address: '10.0.0.1', port: 22 },
  ]);
});

void test('parseProcNet: tcp6 wildcard, loopback, documentation address; IPv4-mapped becomes IPv4', () => {
  assert.deepEqual(parseProcNet(TCP6, 'tcp', 6), [
    { protocol: 'tcp', family: 6, address: '::', port: 27 },
    { protocol: 'tcp', family: 6, address: '::1', port: 28 },
    { protocol: 'tcp', family: 4, address: '127.0.0.1', port: 29 },
    { protocol: 'tcp', family: 6, address: '2001:db8::1', port: 443 },
  ]);
  const mappedAny = line(0, `${V6.mappedAny}:0019`, ANY6, '0A');
  assert.deepEqual(parseProcNet(mappedAny, 'tcp', 6), [
    { protocol: 'tcp', family: 4, address: '0.0.0.0', port: 25 },
  ]);
});

void test('parseProcNet: UDP counts every bound socket, connected ones included, whatever its state', () => {
  assert.deepEqual(parseProcNet(UDP4, 'udp', 4), [
    { protocol: 'udp', family: 4, address: '0.0.0.0', port: 53 },
    { protocol: 'udp', family: 4, address: '127.0.0.1', port: 39026 },
  ]);
  assert.deepEqual(parseProcNet(UDP6, 'udp', 6), [
    { protocol: 'udp', family: 6, address: '::1', port: 5353 },
    { protocol: 'udp', family: 6, address: '::', port: 514 },
  ]);
});

void test('parseProcNet: skips the header and malformed lines, never throws', () => {
  const good = line(9, `${V4.any}:0019`, ANY4, '0A');
  const malformed = [
    HEADER4,
    'garbage',
    '   7: 00000000:0019', // truncated before the state
    '   7: 0000000:0019 00000000:0000 0A', // 7 hex digits
    '   7: 00000000:019 00000000:0000 0A', // 3-digit port
    '   7: 0000000G:0019 00000000:0000 0A', // not hex
    `   7: ${V6.any}:0019 ${ANY6} 0A`, // IPv6 address in an IPv4 file
    '   x: 00000000:0019 00000000:0000 0A', // bad slot number
    '   7: 00000000:0000 00000000:0000 0A', // port 0
    '   7: 00000000:0019 00000000:0000 0AB', // 3-digit state
    '\u0000\u00ff\ufffd:::: ::',
  ];
  assert.deepEqual(parseProcNet([...malformed, good].join('\n'), 'tcp', 4), [
    { protocol: 'tcp', family: 4, address: '0.0.0.0', port: 25 },
  ]);
  assert.deepEqual(parseProcNet(TCP4, 'tcp', 6), []); // every address has the wrong length
  for (const text of ['', '\n\n', HEADER6, 'x'.repeat(100_000), `${good}\r\n${good}`]) {
    assert.doesNotThrow(() => parseProcNet(text, 'udp', 4));
  }
  assert.equal(parseProcNet(`${good}\r\n${good}`, 'tcp', 4).length, 2);
  assert.equal(parseProcNet(good.replace(/ 0 0 10 0$/, ''), 'tcp', 4).length, 1); // short tail is fine
});

// ---------------------------------------------------------------------------------------------
// SocketTable over a fake procRoot.

type ProcFiles = Partial<Record<'tcp' | 'tcp6' | 'udp' | 'udp6', string>>;

/** A fake /proc in a temp dir (removed after the test); `write` replaces the four net files. */
function fakeProc(t: TestContext, files: ProcFiles) {
  const root = mkdtempSync(join(tmpdir(), 'socket-table-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'net'));
  const write = (next: ProcFiles) => {
    for (const name of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
      const path = join(root, 'net', name);
      const text = next[name];
      if (text === undefined) rmSync(path, { force: true });
      else writeFileSync(path, text);
    }
  };
  write(files);
  return { root, write };
}

/** A clock the test moves by hand. */
function manualClock(start = 1000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const ALL: ProcFiles = { tcp: TCP4, tcp6: TCP6, udp: UDP4, udp6: UDP6 };

void test('SocketTable.isServed: wildcards serve their family, `::` serves IPv4 too, others only themselves', (t) => {
  const table = new SocketTable({ procRoot: fakeProc(t, ALL).root });
  const cases: [protocol: 'tcp' | 'udp', destination: string, port: number, served: boolean][] = [
    ['tcp', '10.0.0.1', 25, true], // 0.0.0.0:25
    ['tcp', '127.0.0.1', 25, true],
    ['tcp', '2001:db8::1', 25, false], // an IPv4 wildcard does not serve IPv6
    ['tcp', '127.0.0.1', 26, true], // 127.0.0.1:26 ...
    ['tcp', '10.0.0.1', 26, false], // ... does not mask probes to another address
    ['tcp', '10.0.0.1', 22, true], // 10.0.0.1:22
    ['tcp', '10.0.0.2', 22, false],
    ['tcp', '2001:db8::1', 27, true], // [::]:27, dual-stack
    ['tcp', '10.0.0.1', 27, true],
    ['tcp', '::1', 28, true], // [::1]:28
    ['tcp', '127.0.0.1', 28, false],
    ['tcp', '2001:db8::1', 28, false],
    ['tcp', '127.0.0.1', 29, true], // [::ffff:127.0.0.1]:29 counts as 127.0.0.1
    ['tcp', '::ffff:127.0.0.1', 29, true], // destinations are canonicalised too
    ['tcp', '10.0.0.1', 29, false],
    ['tcp', '2001:DB8:0::1', 443, true],
    ['tcp', '2001:db8::2', 443, false],
    ['tcp', '10.0.0.1', 111, false], // only TIME_WAIT there
    ['tcp', '10.0.0.1', 80, false], // bound but not listening
    ['tcp', '10.0.0.1', 53, false], // UDP only
    ['udp', '10.0.0.1', 53, true],
    ['udp', '2001:db8::1', 53, false],
    ['udp', '127.0.0.1', 39026, true],
    ['udp', '::1', 5353, true],
    ['udp', '10.0.0.1', 514, true], // [::]:514
    ['udp', '10.0.0.1', 25, false],
  ];
  for (const [protocol, destination, port, served] of cases) {
    assert.equal(table.isServed(protocol, destination, port), served, `${protocol} ${destination} ${port}`);
  }
});

void test('SocketTable.servedPorts: ascending, deduplicated, below the limit only', (t) => {
  const table = new SocketTable({ procRoot: fakeProc(t, ALL).root });
  assert.deepEqual(table.servedPorts('tcp', 1024), [22, 25, 26, 27, 28, 29, 443]);
  assert.deepEqual(table.servedPorts('tcp', 27), [22, 25, 26]);
  assert.deepEqual(table.servedPorts('udp', 1024), [53, 514]);
  assert.deepEqual(table.servedPorts('udp', 65536), [53, 514, 5353, 39026]);
  assert.deepEqual(table.servedPorts('udp', 0), []);
});

void test('SocketTable: missing files are empty lists; other read errors throw', (t) => {
  const onlyTcp = new SocketTable({ procRoot: fakeProc(t, { tcp: TCP4 }).root });
  assert.equal(onlyTcp.isServed('tcp', '10.0.0.1', 25), true);
  assert.equal(onlyTcp.isServed('tcp', '::1', 28), false);
  assert.deepEqual(onlyTcp.servedPorts('udp', 65536), []);

  const nothing = new SocketTable({ procRoot: join(tmpdir(), 'socket-table-no-such-dir') });
  assert.deepEqual(nothing.servedPorts('tcp', 65536), []);

  const broken = fakeProc(t, {});
  mkdirSync(join(broken.root, 'net', 'udp6')); // reading a directory: EISDIR
  assert.throws(() => new SocketTable({ procRoot: broken.root }), { code: 'EISDIR' });
});

void test('SocketTable: re-reads a protocol only once its half is minRefreshMs old; refresh() reads all', (t) => {
  const proc = fakeProc(t, { tcp: TCP4 });
  const clock = manualClock();
  const table = new SocketTable({ procRoot: proc.root, minRefreshMs: 50, now: clock.now });
  assert.equal(table.refreshes, 1); // the constructor read it
  assert.equal(table.isServed('tcp', '10.0.0.1', 30), false);

  // A listener appears on 30 and 0.0.0.0:25 goes away.
  const changed = TCP4.replace(`${V4.any}:0019`, `${V4.any}:001E`);
  proc.write({ tcp: changed });
  clock.advance(49);
  assert.equal(table.isServed('tcp', '10.0.0.1', 30), false, 'before minRefreshMs the old answer stands');
  assert.equal(table.isServed('tcp', '10.0.0.1', 25), true);
  assert.deepEqual(table.servedPorts('tcp', 1024), [22, 25, 26]);
  assert.equal(table.refreshes, 1);

  clock.advance(1);
  assert.equal(table.isServed('tcp', '10.0.0.1', 30), true);
  assert.equal(table.isServed('tcp', '10.0.0.1', 25), false);
  assert.equal(table.refreshes, 2);
  assert.deepEqual(table.servedPorts('tcp', 1024), [22, 26, 30]);
  assert.equal(table.refreshes, 2, 'one read serves every query until it is stale again');

  // The UDP half ages on its own: a UDP query re-reads it and leaves the fresh TCP half alone.
  proc.write({ tcp: TCP4, udp: UDP4 });
  assert.equal(table.isServed('udp', '10.0.0.1', 53), true);
  assert.equal(table.refreshes, 3);
  assert.equal(table.isServed('tcp', '10.0.0.1', 30), true, 'the TCP half was not re-read');

  table.refresh();
  assert.equal(table.refreshes, 4);
  assert.equal(table.isServed('tcp', '10.0.0.1', 25), true);
  assert.equal(table.isServed('tcp', '10.0.0.1', 30), false);
});

// ---------------------------------------------------------------------------------------------
// Live: the real /proc of a lab namespace.

const IS_ROOT = process.getuid?.() === 0;
/** Comfortably past the probe's minRefreshMs (the default, 50 ms). */
const PAST_REFRESH_MS = 120;

/** `node -e` one-liner: a TCP server ("tcp", closes each connection at once) or a UDP socket ("udp4"). */
const LISTENER = `
const [kind, host, port] = process.argv.slice(1);
const ready = () => console.log('ready');
if (kind === 'udp4') require('dgram').createSocket('udp4').bind(Number(port), host, ready);
else require('net').createServer((c) => c.end()).listen(Number(port), host, ready);
`;

/** `node -e` one-liner: connects, reads until the server closes, then closes too. */
const CLIENT = `
const [host, port] = process.argv.slice(1);
const s = require('net').connect(Number(port), host);
s.resume();
s.on('error', (e) => { console.error(e.message); process.exit(1); });
s.on('close', () => process.exit(0));
`;

/** Waits until `pick` finds something in `proc`'s stdout and returns it; a timeout shows its stderr. */
async function awaitOutput(proc: LabProcess, what: string, pick: (out: string) => string | undefined) {
  return waitFor(() => pick(proc.stdout()), { timeoutMs: 15_000, intervalMs: 5, what }).catch(
    (err: Error) => {
      throw new Error(`${err.message}\nstderr:\n${proc.stderr()}`);
    },
  );
}

async function listen(lab: Lab, kind: 'tcp' | 'udp4', host: string, port: number): Promise<LabProcess> {
  const proc = lab.spawn(lab.sensor, [process.execPath, '-e', LISTENER, kind, host, String(port)]);
  await awaitOutput(proc, `${kind} listener on ${host} port ${port}`, (out) =>
    out.includes('ready') ? 'ready' : undefined,
  );
  return proc;
}

/** Starts the probe fixture in the sensor namespace; queries go through a FIFO (spawn gives no stdin). */
async function startProbe(t: TestContext, lab: Lab) {
  const dir = mkdtempSync(join(tmpdir(), 'socket-table-probe-'));
  const fifo = join(dir, 'queries');
  execFileSync('mkfifo', [fifo]);
  // Read-write, so neither this open nor the probe's own open waits for the other end.
  const fd = openSync(fifo, constants.O_RDWR);
  t.after(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  const proc = lab.spawn(lab.sensor, [process.execPath, '--import', 'tsx', PROBE, fifo], { cwd: REPO_ROOT });
  await awaitOutput(proc, 'the probe to start', (out) =>
    out.includes('"ready":true') ? 'ready' : undefined,
  );

  let nextId = 1;
  const ask = async (query: Record<string, unknown>): Promise<{ result: unknown; refreshes: number }> => {
    const id = nextId++;
    writeSync(fd, `${JSON.stringify({ id, ...query })}\n`);
    const prefix = `{"id":${id},`;
    const reply = await awaitOutput(proc, `the answer to ${JSON.stringify(query)}`, (out) =>
      out.split('\n').find((l) => l.startsWith(prefix)),
    );
    const parsed = JSON.parse(reply) as { result: unknown; refreshes: number; error?: string };
    if (parsed.error !== undefined) throw new Error(`probe: ${parsed.error}`);
    return parsed;
  };
  return {
    served: async (protocol: 'tcp' | 'udp', destination: string, port: number) =>
      (await ask({ op: 'isServed', protocol, destination, port })).result,
    servedPorts: async (protocol: 'tcp' | 'udp', limit: number) =>
      (await ask({ op: 'servedPorts', protocol, limit })).result,
    refreshes: async () => (await ask({ op: 'servedPorts', protocol: 'tcp', limit: 0 })).refreshes,
  };
}

/** Lines of `ss -tan state time-wait` in `host`'s namespace with local address `address:port`. */
async function timeWaits(lab: Lab, host: LabHost, address: string, port: number): Promise<string[]> {
  const { stdout } = await lab.exec(host, ['ss', '-Htan', 'state', 'time-wait']);
  return stdout.split('\n').filter((l) => l.trim().split(/\s+/)[2] === `${address}:${port}`);
}

void test(
  'SocketTable live: the real /proc of a lab namespace',
  { skip: !IS_ROOT && 'needs root' },
  async (t) => {
    const lab = await createLab();
    t.after(() => lab.destroy());
    const { sensor, scanner } = lab;
    const probe = await startProbe(t, lab);

    await listen(lab, 'tcp', '0.0.0.0', 25);
    await listen(lab, 'tcp', '127.0.0.1', 26);
    await listen(lab, 'tcp', '::', 27);
    await listen(lab, 'tcp', sensor.ipv6, 28);
    await listen(lab, 'udp4', '0.0.0.0', 53);
    await delay(PAST_REFRESH_MS);

    await t.test('0.0.0.0:25 serves every IPv4 address and no IPv6 one', async () => {
      assert.equal(await probe.served('tcp', sensor.ipv4, 25), true);
      assert.equal(await probe.served('tcp', '127.0.0.1', 25), true);
      assert.equal(await probe.served('tcp', sensor.ipv6, 25), false);
      assert.equal(await probe.served('udp', sensor.ipv4, 25), false);
    });

    await t.test('127.0.0.1:26 serves 127.0.0.1 only, not the sensor address', async () => {
      assert.equal(await probe.served('tcp', '127.0.0.1', 26), true);
      assert.equal(await probe.served('tcp', sensor.ipv4, 26), false);
      assert.equal(await probe.served('tcp', sensor.ipv6, 26), false);
    });

    await t.test('[::]:27 serves IPv6 and IPv4', async () => {
      for (const destination of [sensor.ipv6, '::1', sensor.ipv4, '127.0.0.1']) {
        assert.equal(await probe.served('tcp', destination, 27), true, destination);
      }
    });

    await t.test('[sensor IPv6]:28 serves that address only', async () => {
      assert.equal(await probe.served('tcp', sensor.ipv6, 28), true);
      assert.equal(await probe.served('tcp', '::1', 28), false);
      assert.equal(await probe.served('tcp', sensor.ipv4, 28), false);
    });

    await t.test('UDP :53 serves UDP to IPv4 (a udp4 socket), not TCP', async () => {
      assert.equal(await probe.served('udp', sensor.ipv4, 53), true);
      assert.equal(await probe.served('udp', sensor.ipv6, 53), false);
      assert.equal(await probe.served('tcp', sensor.ipv4, 53), false);
      assert.equal(await probe.served('udp', sensor.ipv4, 54), false);
    });

    await t.test('servedPorts lists the listeners below the limit', async () => {
      assert.deepEqual(await probe.servedPorts('tcp', 1024), [25, 26, 27, 28]);
      assert.deepEqual(await probe.servedPorts('tcp', 27), [25, 26]);
      assert.deepEqual(await probe.servedPorts('udp', 1024), [53]);
    });

    await t.test(
      'a listener started after the table was built is seen once minRefreshMs has passed',
      async () => {
        assert.equal(await probe.served('tcp', sensor.ipv4, 30), false);
        const before = await probe.refreshes();
        await listen(lab, 'tcp', '0.0.0.0', 30);
        await delay(PAST_REFRESH_MS);
        assert.equal(await probe.served('tcp', sensor.ipv4, 30), true);
        assert.ok((await probe.refreshes()) > before);
      },
    );

    await t.test('a port whose only socket is in TIME_WAIT is not served', async () => {
      const server = await listen(lab, 'tcp', '0.0.0.0', 111);
      await delay(PAST_REFRESH_MS);
      assert.equal(await probe.served('tcp', sensor.ipv4, 111), true);

      // The server closes first, so the TIME_WAIT socket is on the sensor's side, local port 111.
      await lab.exec(scanner, [process.execPath, '-e', CLIENT, sensor.ipv4, '111'], { timeoutMs: 15_000 });
      server.kill();
      await server.exited;
      await waitFor(async () => (await timeWaits(lab, sensor, sensor.ipv4, 111)).length > 0, {
        timeoutMs: 5000,
        what: `a TIME_WAIT socket on ${sensor.ipv4}:111 in the sensor namespace`,
      });

      await delay(PAST_REFRESH_MS);
      assert.equal(await probe.served('tcp', sensor.ipv4, 111), false);
      assert.deepEqual(await probe.servedPorts('tcp', 1024), [25, 26, 27, 28, 30]);
      const stillThere = await timeWaits(lab, sensor, sensor.ipv4, 111);
      assert.ok(stillThere.length > 0, 'the TIME_WAIT socket outlived the assertions');
    });
  },
);
