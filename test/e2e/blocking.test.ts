// End to end, as root, in network namespaces this test creates: the built daemon with its own
// nftables backend (table inet portsnare inside the sensor namespace), real nmap scans over IPv4 and
// IPv6, and the control commands (status, list, block, unblock, flush) run as an administrator
// would, against the live daemon. Also: timed bans lifted by themselves from every backend
// (nft, hosts.deny, KILL_ROUTE/UNKILL_ROUTE), and the table put back after `nft flush ruleset`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  nftSetElements as setElements,
  PORTSNARE_BIN,
  portsnareCli,
  prepareFiles,
  readText,
  startDaemon,
  startService,
  tcpProbe,
} from '../helpers/daemon.ts';
import { createLab, waitFor } from '../helpers/netns.ts';

const TRAPS = '1,11,143,31337';
const SERVICE_PORT = 8080;

void test('nft backend: scanners banned in nft sets (IPv4, IPv6); status, list, block, unblock, flush on the live daemon; table put back after a flush ruleset', async (t) => {
  const lab = await createLab({ extraHosts: 1 });
  t.after(() => lab.destroy());
  const [v6scanner] = lab.others as [typeof lab.sensor];
  const service = startService(lab, [SERVICE_PORT], 6);
  await waitFor(() => service.stdout().includes('ready'), { timeoutMs: 5000, what: 'the service' });
  const files = await prepareFiles({
    TCP_PORTS: TRAPS,
    UDP_PORTS: '9',
    BLOCK_TCP: '1',
    BLOCK_BACKEND: 'nft',
    KILL_ROUTE: '/bin/false $TARGET$', // not run: the nft backend replaces KILL_ROUTE and KILL_HOSTS_DENY
  });
  const daemon = await startDaemon(lab, files, ['-tcp']);
  t.after(() => daemon.cleanup());
  const { sink } = daemon;
  assert.ok(
    sink.messages().includes('adminalert: Blocking with nftables (inet portsnare) (BLOCK_BACKEND=nft)'),
    sink.messages().join('\n'),
  );
  const s4 = lab.scanner.ipv4;
  const s6 = v6scanner.ipv6;

  // IPv4: nmap -sT; the ban is one element of blocked4, and the scanner is cut off.
  assert.equal((await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, SERVICE_PORT)).result, 'connected');
  await lab.exec(lab.scanner, ['nmap', '-n', '-Pn', '-sT', '-p', TRAPS, lab.sensor.ipv4]);
  await sink.waitForMessage(
    `attackalert: Host ${s4} has been blocked via nftables set: inet portsnare blocked4 until unblocked`,
  );
  assert.deepEqual(await setElements(lab, 'blocked4'), [s4]);
  assert.equal((await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, SERVICE_PORT)).result, 'timeout');
  assert.equal(await readText(files.hostsDeny), '', 'nft alone writes no hosts.deny line');
  assert.ok(!sink.messages().some((m) => m.includes('/bin/false')), 'KILL_ROUTE is not run');

  // IPv6: the same through blocked6.
  await lab.exec(v6scanner, ['nmap', '-6', '-n', '-Pn', '-sT', '-p', TRAPS, lab.sensor.ipv6]);
  await sink.waitForMessage(
    `attackalert: Host ${s6} has been blocked via nftables set: inet portsnare blocked6 until unblocked`,
  );
  assert.deepEqual(await setElements(lab, 'blocked6'), [s6]);
  assert.equal((await tcpProbe(lab, v6scanner, lab.sensor.ipv6, SERVICE_PORT)).result, 'timeout');

  // status --json and the table; list.
  const status = await portsnareCli(lab, files, ['status', '--json']);
  assert.equal(status.code, 0, status.stderr);
  const report = JSON.parse(status.stdout) as {
    running: boolean;
    modes: string[];
    backend: string;
    traps: { mode: string; ports: number[] }[];
    counters: Record<string, number>;
    bans: { address: string; mode: string; scanType: string; backends: string[]; expires: null }[];
  };
  assert.equal(report.running, true);
  assert.deepEqual(report.modes, ['tcp']);
  assert.deepEqual(report.traps, [{ mode: 'tcp', ports: [1, 11, 143, 31337] }]);
  assert.equal(report.counters['blocks'], 2);
  assert.deepEqual(
    report.bans.map((b) => [b.address, b.mode, b.scanType, b.backends, b.expires]),
    [
      [s4, 'tcp', 'Connect', ['nft'], null],
      [s6, 'tcp', 'Connect', ['nft'], null],
    ],
  );
  const table = await portsnareCli(lab, files, ['status']);
  assert.match(table.stdout, /^portsnare .*: running, pid \d+/);
  assert.match(table.stdout, /^ADDRESS +SINCE +EXPIRES +PORTS +SCAN TYPE +MODE +BACKENDS$/m);
  assert.match(
    table.stdout,
    new RegExp(`^${s4} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +never +\\d+ +Connect +tcp +nft$`, 'm'),
  );
  const list = await portsnareCli(lab, files, ['list']);
  assert.ok(list.stdout.includes(s6) && list.stdout.includes('2 ban(s).'), list.stdout);

  // unblock on the live daemon: out of the set and the store, logged, and no longer "already blocked".
  const already = () => sink.messages().filter((m) => m.includes(`${s4} is already blocked`)).length;
  const alreadyBefore = already();
  const unblock = await portsnareCli(lab, files, ['unblock', s4]);
  assert.equal(unblock.code, 0, unblock.stderr);
  assert.equal(unblock.stdout, `unblocked ${s4} (nft)\n`);
  await sink.waitForMessage(`attackalert: Host ${s4} has been unblocked (unblocked on request): nft`);
  assert.deepEqual(await setElements(lab, 'blocked4'), []);
  assert.equal((await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, SERVICE_PORT)).result, 'connected');
  await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 143);
  await sink.waitForMessage(`attackalert: Host ${s4} has been blocked via nftables set`, { count: 2 });
  assert.equal(already(), alreadyBefore, 'the hit after unblock is a new block, not "already blocked"');

  // Someone flushes the whole ruleset: the watchdog puts our table and its bans back.
  await lab.exec(lab.sensor, ['nft', 'flush', 'ruleset']);
  await sink.waitForMessage(
    'adminalert: WARNING: nftables table inet portsnare had been removed; put it back with 2 ban(s)',
    { timeoutMs: 15_000 },
  );
  assert.deepEqual(await setElements(lab, 'blocked4'), [s4]);
  assert.equal((await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, SERVICE_PORT)).result, 'timeout');

  // block by hand, with a duration; never one of the host's own addresses.
  const own = await portsnareCli(lab, files, ['block', lab.sensor.ipv4]);
  assert.equal(own.code, 1);
  assert.match(own.stderr, new RegExp(`refusing to block ${lab.sensor.ipv4}: it is an address of this host`));
  const manual = await portsnareCli(lab, files, ['block', '192.0.2.77', '--for', '1h']);
  assert.equal(manual.code, 0, manual.stderr);
  assert.match(manual.stdout, /^blocked 192\.0\.2\.77 \(nft\) until \d{4}-/);
  assert.ok((await setElements(lab, 'blocked4')).includes('192.0.2.77'));
  const bad = await portsnareCli(lab, files, ['block', '192.0.2.78', '--for', 'soon']);
  assert.equal(bad.code, 64);

  // Only root controls the daemon: an unprivileged user who can read the config still cannot use
  // the socket (0600 in a 0700 STATE_DIR), and is told so rather than "not running".
  const shared = await mkdtemp(join(tmpdir(), 'psn-shared-'));
  t.after(() => rm(shared, { recursive: true, force: true }));
  await chmod(shared, 0o755);
  await copyFile(files.config, join(shared, 'portsentry.conf'));
  await chmod(join(shared, 'portsentry.conf'), 0o644);
  const asNobody = await lab.exec(
    lab.sensor,
    [
      'setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      PORTSNARE_BIN,
      'unblock',
      s4,
      '--config',
      join(shared, 'portsentry.conf'),
    ],
    { allowFail: true },
  );
  assert.equal(asNobody.code, 77, asNobody.stderr);
  assert.match(asNobody.stderr, /permission denied: only root can control portsnare/);
  assert.deepEqual(
    (await setElements(lab, 'blocked4')).sort(),
    [s4, '192.0.2.77'].sort(),
    'nothing was unblocked',
  );

  // flush: every ban gone from the sets and the store; the table itself stays while the daemon runs.
  const flush = await portsnareCli(lab, files, ['flush']);
  assert.equal(flush.stdout, 'flushed 3 ban(s)\n');
  assert.deepEqual(await setElements(lab, 'blocked4'), []);
  assert.deepEqual(await setElements(lab, 'blocked6'), []);
  assert.match((await portsnareCli(lab, files, ['list'])).stdout, /^No bans\.$/m);

  // The socket vanishes while the daemon runs: the commands refuse to become a second writer.
  await rm(join(files.stateDir, 'portsnare.sock'));
  const orphan = await portsnareCli(lab, files, ['block', '198.51.100.9']);
  assert.equal(orphan.code, 1);
  assert.match(orphan.stderr, /the daemon \(pid \d+\) runs but does not answer on .*portsnare\.sock/);
  assert.deepEqual(await setElements(lab, 'blocked4'), []);
  assert.deepEqual(await daemon.stop(), { code: 0, signal: null });

  // With the daemon stopped, the commands act on the store directly and say the daemon is not running.
  const stopped = await portsnareCli(lab, files, ['status']);
  assert.equal(stopped.code, 3);
  assert.match(stopped.stdout, /not running/);
  const direct = await portsnareCli(lab, files, ['block', '198.51.100.9']);
  assert.equal(direct.code, 0, direct.stderr);
  assert.ok((await setElements(lab, 'blocked4')).includes('198.51.100.9'));
  assert.match((await portsnareCli(lab, files, ['list'])).stdout, /^198\.51\.100\.9 /m);
  assert.equal((await portsnareCli(lab, files, ['flush'])).stdout, 'flushed 1 ban(s)\n');
  const tables = await lab.exec(lab.sensor, ['nft', 'list', 'tables']);
  assert.ok(!tables.stdout.includes('portsnare'), 'flush without a daemon removes our table');
});

void test('BLOCK_TIME=2: the ban lifts by itself from nft, hosts.deny and the route (UNKILL_ROUTE derived)', async (t) => {
  const lab = await createLab();
  t.after(() => lab.destroy());
  const service = startService(lab, [SERVICE_PORT]);
  await waitFor(() => service.stdout().includes('ready'), { timeoutMs: 5000, what: 'the service' });
  const files = await prepareFiles({
    TCP_PORTS: TRAPS,
    UDP_PORTS: '9',
    BLOCK_TCP: '1',
    BLOCK_BACKEND: 'both',
    BLOCK_TIME: '2',
    KILL_ROUTE: '/usr/sbin/ip route add blackhole $TARGET$',
    KILL_HOSTS_DENY: 'ALL: $TARGET$ : DENY',
  });
  await import('node:fs/promises').then((fs) => fs.writeFile(files.hostsDeny, 'ALL: 198.51.100.1 : DENY\n'));
  const daemon = await startDaemon(lab, files, ['-tcp']);
  t.after(() => daemon.cleanup());
  const { sink } = daemon;
  const s = lab.scanner.ipv4;
  await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 11);
  await sink.waitForMessage(
    `attackalert: Host ${s} has been blocked via nftables set: inet portsnare blocked4 for 2 s`,
  );
  await sink.waitForMessage(
    `attackalert: Host ${s} has been blocked via dropped route using command: "/usr/sbin/ip route add blackhole ${s}"`,
  );
  assert.deepEqual(await setElements(lab, 'blocked4'), [s]);
  assert.equal(await readText(files.hostsDeny), `ALL: 198.51.100.1 : DENY\nALL: ${s} : DENY\n`);
  assert.match(
    (await lab.exec(lab.sensor, ['ip', 'route', 'show', 'type', 'blackhole'])).stdout,
    new RegExp(s),
  );

  await sink.waitForMessage(
    `attackalert: Host ${s} has been unblocked (ban expired): nft, hosts.deny, route`,
    {
      timeoutMs: 8000,
    },
  );
  assert.deepEqual(await setElements(lab, 'blocked4'), []);
  assert.equal(await readText(files.hostsDeny), 'ALL: 198.51.100.1 : DENY\n', 'only our line was removed');
  assert.equal((await lab.exec(lab.sensor, ['ip', 'route', 'show', 'type', 'blackhole'])).stdout.trim(), '');
  assert.equal((await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, SERVICE_PORT)).result, 'connected');
  assert.match((await portsnareCli(lab, files, ['list'])).stdout, /^No bans\.$/m);
  // It is a fresh host again: the next probe blocks it anew rather than "already blocked".
  await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 143);
  await sink.waitForMessage(`attackalert: Host ${s} has been blocked via nftables set`, { count: 2 });
  assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
});

void test('a new address or default gateway is noticed within seconds and never blocked', async (t) => {
  const lab = await createLab({ extraHosts: 1 });
  t.after(() => lab.destroy());
  const [router] = lab.others as [typeof lab.sensor];
  const files = await prepareFiles({
    TCP_PORTS: TRAPS,
    UDP_PORTS: '9',
    BLOCK_TCP: '1',
    BLOCK_BACKEND: 'nft',
  });
  const daemon = await startDaemon(lab, files, ['-tcp']);
  t.after(() => daemon.cleanup());
  const { sink } = daemon;
  // A second address on the sensor, and a default route: both picked up without a SIGHUP.
  const added = lab.sensor.ipv4.replace(/\.\d+$/, '.250');
  await lab.exec(lab.sensor, ['ip', 'addr', 'add', `${added}/24`, 'dev', 'eth0']);
  await lab.exec(lab.sensor, ['ip', 'route', 'add', 'default', 'via', router.ipv4]);
  await sink.waitForMessage(
    /^adminalert: Local addresses changed: \d+ own addresses and \d+ gateways\/resolvers are never blocked$/,
    {
      timeoutMs: 15_000,
    },
  );
  // A connection from the new address to a trap (the host talking to itself) is refused, not blocked.
  await lab.exec(lab.sensor, [
    process.execPath,
    '-e',
    `require('net').connect({ host: ${JSON.stringify(lab.sensor.ipv4)}, port: 11, localAddress: ${JSON.stringify(added)} }).on('connect', function () { this.destroy(); }).on('error', () => {})`,
  ]);
  await tcpProbe(lab, router, lab.sensor.ipv4, 143);
  await sink.waitForMessage(`attackalert: Not blocking host ${added}: it is an address of this host`);
  await sink.waitForMessage(
    `attackalert: Not blocking host ${router.ipv4}: it is a default gateway or a resolver of this host`,
  );
  assert.deepEqual(await setElements(lab, 'blocked4'), []);
  assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
});

void test('a log-only daemon (no BLOCK_x=1) leaves the ruleset as it was until the first ban by hand', async (t) => {
  const lab = await createLab();
  t.after(() => lab.destroy());
  const files = await prepareFiles({
    TCP_PORTS: TRAPS,
    UDP_PORTS: '9',
    BLOCK_TCP: '0',
    BLOCK_BACKEND: 'auto',
  });
  const daemon = await startDaemon(lab, files, ['-tcp']);
  t.after(() => daemon.cleanup());
  const { sink } = daemon;
  assert.ok(
    sink
      .messages()
      .includes(
        'adminalert: Blocking with nftables (inet portsnare) (BLOCK_BACKEND=auto): nft works here; the table is made at the first ban (no BLOCK_x is 1)',
      ),
    sink.messages().join('\n'),
  );
  const tables = async () => (await lab.exec(lab.sensor, ['nft', 'list', 'tables'])).stdout.trim();
  assert.equal(await tables(), '');
  // A scan is logged (1.2's log-only line) and blocks nothing.
  await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 11);
  await sink.waitForMessage('attackalert: Ignoring TCP response per configuration file setting.');
  assert.equal(await tables(), '');
  assert.equal((await portsnareCli(lab, files, ['unblock', lab.scanner.ipv4])).code, 0);
  assert.equal(await tables(), '', 'an unblock does not create the table either');
  // The first ban by hand makes the table.
  const block = await portsnareCli(lab, files, ['block', '198.51.100.20', '--for', '10m']);
  assert.equal(block.code, 0, block.stderr);
  assert.equal(await tables(), 'table inet portsnare');
  assert.deepEqual(await setElements(lab, 'blocked4'), ['198.51.100.20']);
  assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
});
