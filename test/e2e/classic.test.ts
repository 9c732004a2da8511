// End to end, as root, in network namespaces this test creates: the built daemon in `-tcp -udp`
// mode inside the sensor namespace, with a real nftables (IPv4) or ip6tables (IPv6) ruleset there;
// real nmap connect and UDP scans from other namespaces. Asserts the exact syslog lines, the
// history/blocked/hosts.deny files, and that a blocked scanner can no longer reach the sensor.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  readCounters,
  readText,
  prepareFiles,
  startDaemon,
  startService,
  tcpProbe,
} from '../helpers/daemon.ts';
import { createLab, waitFor, type Lab } from '../helpers/netns.ts';

const TCP_TRAPS = [1, 11, 79, 143, 1080, 31337];
const UDP_TRAPS = [1, 9, 161, 31337];
const SERVICE_PORT = 8080; // a real service on a port that is no trap
const BUSY_TRAP = 79; // a trap port a service already holds: skipped, and later ports keep their numbers
const BANNER = '** UNAUTHORIZED ACCESS PROHIBITED **';
const HISTORY_LINE = (address: string, proto: string) =>
  new RegExp(
    `^\\d+ - \\d\\d/\\d\\d/\\d{4} \\d\\d:\\d\\d:\\d\\d Host: ${address.replace(/\./g, '\\.')}/${address.replace(/\./g, '\\.')} Port: \\d+ ${proto} Blocked$`,
    'm',
  );

async function nft(lab: Lab, ruleset: string): Promise<void> {
  await lab.exec(lab.sensor, ['nft', '-f', '-'], { input: ruleset });
}

void test('classic -tcp -udp over IPv4 with nftables: scanners blocked and recorded, ignored host and real clients untouched', async (t) => {
  const lab = await createLab({ extraHosts: 3 });
  t.after(() => lab.destroy());
  const [ignored, client, udpScanner] = lab.others as [
    typeof lab.sensor,
    typeof lab.sensor,
    typeof lab.sensor,
  ];
  await nft(
    lab,
    `table inet lab {
       set ban4 { type ipv4_addr; }
       chain input { type filter hook input priority -10; ip saddr @ban4 drop; }
     }`,
  );
  const service = startService(lab, [SERVICE_PORT, BUSY_TRAP]);
  await waitFor(() => service.stdout().includes('ready'), { timeoutMs: 5000, what: 'the service to listen' });

  const files = await prepareFiles(
    {
      TCP_PORTS: TCP_TRAPS.join(','),
      UDP_PORTS: UDP_TRAPS.join(','),
      BLOCK_TCP: '1',
      BLOCK_UDP: '1',
      KILL_ROUTE: '/usr/sbin/nft add element inet lab ban4 { $TARGET$ }',
      KILL_HOSTS_DENY: 'ALL: $TARGET$ : DENY',
      KILL_RUN_CMD: '/bin/true $TARGET$ $PORT$ $MODE$',
      PORT_BANNER: BANNER,
    },
    [`${ignored.ipv4}/32  # the monitoring host`],
  );
  const daemon = await startDaemon(lab, files, ['-tcp', '-udp']);
  t.after(() => daemon.cleanup());
  const { sink } = daemon;

  // Startup: 1.2's lines, the busy port reported with its own number.
  const startup = sink.messages();
  assert.equal(startup[0], 'adminalert: PortSentry 1.2 is starting.');
  assert.ok(
    startup.includes(`adminalert: ERROR: could not bind TCP socket: ${BUSY_TRAP}. Attempting to continue`),
  );
  for (const port of TCP_TRAPS.filter((p) => p !== BUSY_TRAP)) {
    assert.ok(startup.includes(`adminalert: Going into listen mode on TCP port: ${port}`), `TCP ${port}`);
  }
  for (const port of UDP_TRAPS)
    assert.ok(startup.includes(`adminalert: Going into listen mode on UDP port: ${port}`));
  assert.equal(sink.records()[0]?.ident, 'portsnare');
  assert.equal(sink.records()[0]?.priority, 29, 'daemon.notice');

  // A client of the real service is never a hit.
  assert.deepEqual(await tcpProbe(lab, client, lab.sensor.ipv4, SERVICE_PORT), {
    result: 'connected',
    data: 'hello\n',
  });

  // The ignored host scans every trap: nothing is logged or blocked.
  await lab.exec(ignored, ['nmap', '-n', '-Pn', '-sT', '-p', TCP_TRAPS.join(','), lab.sensor.ipv4]);
  assert.equal(
    (await tcpProbe(lab, ignored, lab.sensor.ipv4, 143)).data,
    '',
    'no banner for an ignored host',
  );

  // The scanner: nmap -sT.
  const scan = await lab.exec(lab.scanner, [
    'nmap',
    '-n',
    '-Pn',
    '-sT',
    '-p',
    TCP_TRAPS.join(','),
    lab.sensor.ipv4,
  ]);
  assert.match(scan.stdout, /Nmap done/);
  const s = lab.scanner.ipv4;
  await sink.waitForMessage(
    `attackalert: Host ${s} has been blocked via dropped route using command: "/usr/sbin/nft add element inet lab ban4 { ${s} }"`,
  );
  await sink.waitForMessage(
    `attackalert: External command run for host: ${s} using command: "/bin/true ${s} `,
  );
  const connects = sink.messages().filter((m) => m.startsWith('attackalert: Connect from host: '));
  assert.ok(connects.length >= 1);
  for (const line of connects) {
    assert.match(
      line,
      new RegExp(`^attackalert: Connect from host: ${s}/${s} to (TCP port: (1|11|143|1080|31337))$`),
    );
  }
  assert.ok(
    sink
      .messages()
      .includes(`attackalert: Host ${s} has been blocked via wrappers with string: "ALL: ${s} : DENY"`),
  );
  assert.ok(!sink.messages().some((m) => m.includes('accept failed')), 'every hit was attributed');
  // The ignored host: no hit, no block, no line at all (silent, as in 1.2); its scan only counted.
  assert.deepEqual(
    sink.messages().filter((m) => m.includes(ignored.ipv4)),
    [],
  );
  assert.ok(
    (await readCounters(daemon))['ignoredListed']! >= 1,
    'the ignored scan reached the trigger, counted',
  );
  assert.ok(!sink.messages().some((m) => m.includes(client.ipv4)), 'the service client never appears');

  // Recorded: history, blocked file of the mode, hosts.deny, the nft set.
  const history = await waitFor(
    async () => {
      const text = await readText(files.history);
      return HISTORY_LINE(s, 'TCP').test(text) ? text : null;
    },
    { timeoutMs: 3000, what: 'the history line' },
  );
  assert.equal(history.trim().split('\n').length, 1, 'one history line per blocked host');
  await waitFor(async () => HISTORY_LINE(s, 'TCP').test(await readText(`${files.blocked}.tcp`)), {
    timeoutMs: 3000,
    what: 'the TCP blocked file line',
  });
  assert.equal(await readText(files.hostsDeny), `ALL: ${s} : DENY\n`);
  const set = await lab.exec(lab.sensor, ['nft', 'list', 'set', 'inet', 'lab', 'ban4']);
  assert.match(set.stdout, new RegExp(`elements = \\{ ${s.replace(/\./g, '\\.')} \\}`));

  // Blocked: the scanner can no longer reach the sensor at all; the others still can.
  assert.equal((await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, SERVICE_PORT)).result, 'timeout');
  assert.equal((await tcpProbe(lab, client, lab.sensor.ipv4, SERVICE_PORT)).result, 'connected');
  assert.equal((await tcpProbe(lab, ignored, lab.sensor.ipv4, SERVICE_PORT)).result, 'connected');

  // The banner goes to a host that triggers (the client now probes a trap and is blocked itself).
  const trapped = await tcpProbe(lab, client, lab.sensor.ipv4, 1080);
  assert.equal(trapped.data, BANNER);
  await sink.waitForMessage(`attackalert: Host ${client.ipv4} has been blocked via dropped route`);

  // UDP: nmap -sU from a fresh host; any datagram is a hit.
  const u = udpScanner.ipv4;
  await lab.exec(udpScanner, ['nmap', '-n', '-Pn', '-sU', '-p', UDP_TRAPS.join(','), lab.sensor.ipv4]);
  const [udpHit] = await sink.waitForMessage(
    new RegExp(`^attackalert: Connect from host: ${u}/${u} to UDP port: (1|9|161|31337)$`),
  );
  assert.ok(udpHit);
  await sink.waitForMessage(`attackalert: Host ${u} has been blocked via dropped route`);
  await waitFor(async () => HISTORY_LINE(u, 'UDP').test(await readText(`${files.blocked}.udp`)), {
    timeoutMs: 3000,
    what: 'the UDP blocked file line',
  });
  assert.match(await readText(files.history), HISTORY_LINE(u, 'UDP'));
  assert.equal((await tcpProbe(lab, udpScanner, lab.sensor.ipv4, SERVICE_PORT)).result, 'timeout');

  // A repeated hit from a blocked host: "already blocked", no second response.
  const before = sink.messages().filter((m) => m.includes('has been blocked via wrappers')).length;
  await lab.exec(udpScanner, ['nmap', '-n', '-Pn', '-sU', '-p', '9', lab.sensor.ipv4]);
  await sink.waitForMessage(`attackalert: Host: ${u} is already blocked. Ignoring`);
  assert.equal(sink.messages().filter((m) => m.includes('has been blocked via wrappers')).length, before);

  // SIGTERM: 1.2's shutdown pair, exit 0.
  const exit = await daemon.stop();
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.deepEqual(sink.messages().slice(-2), [
    'securityalert: PortSentry is shutting down',
    'adminalert: PortSentry is shutting down',
  ]);
});

void test('classic -tcp -udp over IPv6 with ip6tables', async (t) => {
  const lab = await createLab({ extraHosts: 1 });
  t.after(() => lab.destroy());
  const [udpScanner] = lab.others as [typeof lab.sensor];
  const service = startService(lab, [SERVICE_PORT], 6);
  await waitFor(() => service.stdout().includes('ready'), { timeoutMs: 5000, what: 'the service to listen' });
  const files = await prepareFiles({
    TCP_PORTS: TCP_TRAPS.join(','),
    UDP_PORTS: UDP_TRAPS.join(','),
    BLOCK_TCP: '1',
    BLOCK_UDP: '1',
    KILL_ROUTE: '/usr/sbin/ip6tables -I INPUT -s $TARGET$ -j DROP',
    KILL_HOSTS_DENY: 'ALL: [$TARGET$] : DENY',
  });
  const daemon = await startDaemon(lab, files, ['-tcp', '-udp']);
  t.after(() => daemon.cleanup());
  const { sink } = daemon;

  const s = lab.scanner.ipv6;
  await lab.exec(lab.scanner, ['nmap', '-6', '-n', '-Pn', '-sT', '-p', TCP_TRAPS.join(','), lab.sensor.ipv6]);
  await sink.waitForMessage(new RegExp(`^attackalert: Connect from host: ${s}/${s} to TCP port: \\d+$`));
  await sink.waitForMessage(
    `attackalert: Host ${s} has been blocked via dropped route using command: "/usr/sbin/ip6tables -I INPUT -s ${s} -j DROP"`,
  );
  const rules = await lab.exec(lab.sensor, ['ip6tables', '-S', 'INPUT']);
  assert.match(rules.stdout, new RegExp(`-A INPUT -s ${s}/128 -j DROP`));
  await waitFor(async () => HISTORY_LINE(s, 'TCP').test(await readText(files.history)), {
    timeoutMs: 3000,
    what: 'history',
  });
  assert.equal(await readText(files.hostsDeny), `ALL: [${s}] : DENY\n`);
  assert.equal((await tcpProbe(lab, lab.scanner, lab.sensor.ipv6, SERVICE_PORT)).result, 'timeout');

  const u = udpScanner.ipv6;
  await lab.exec(udpScanner, ['nmap', '-6', '-n', '-Pn', '-sU', '-p', UDP_TRAPS.join(','), lab.sensor.ipv6]);
  await sink.waitForMessage(new RegExp(`^attackalert: Connect from host: ${u}/${u} to UDP port: \\d+$`));
  await sink.waitForMessage(`attackalert: Host ${u} has been blocked via dropped route`);
  assert.equal((await tcpProbe(lab, udpScanner, lab.sensor.ipv6, SERVICE_PORT)).result, 'timeout');
  assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
});

void test('a failing KILL_ROUTE is reported as a failure and nothing is recorded', async (t) => {
  const lab = await createLab();
  t.after(() => lab.destroy());
  const files = await prepareFiles({
    TCP_PORTS: '1,11',
    UDP_PORTS: '9',
    BLOCK_TCP: '1',
    KILL_ROUTE: '/usr/sbin/nft add element inet nosuchtable ban4 { $TARGET$ }',
    KILL_HOSTS_DENY: '',
  });
  const daemon = await startDaemon(lab, files, ['-tcp']);
  t.after(() => daemon.cleanup());
  const { sink } = daemon;
  const s = lab.scanner.ipv4;

  assert.equal((await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 1)).result, 'connected');
  await sink.waitForMessage(`attackalert: ERROR: Could not block host ${s} !!`);
  assert.ok(
    sink.messages().includes(`adminalert: ERROR: There was an error trying to block host (exec fail) ${s}`),
  );
  assert.ok(
    sink
      .messages()
      .some((m) =>
        m.startsWith(
          `adminalert: ERROR: KILL_ROUTE for host ${s} failed: /usr/sbin/nft: exited with status 1: Error:`,
        ),
      ),
  );
  assert.ok(!sink.messages().some((m) => m.includes('has been blocked')));
  assert.equal(await readText(files.history), '');
  assert.equal(await readText(`${files.blocked}.tcp`), '');

  // Not recorded, so the next hit tries again (and is not "already blocked").
  await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 11);
  await sink.waitForMessage(`attackalert: ERROR: Could not block host ${s} !!`, { count: 2 });
  assert.ok(!sink.messages().some((m) => m.includes('already blocked')));
  assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
});

void test('SCAN_TRIGGER, SIGHUP reload of the ignore file, and log-only BLOCK_TCP=0', async (t) => {
  const lab = await createLab({ extraHosts: 1 });
  t.after(() => lab.destroy());
  const [other] = lab.others as [typeof lab.sensor];
  const files = await prepareFiles({
    TCP_PORTS: '1,11,15,143',
    UDP_PORTS: '9',
    BLOCK_TCP: '0',
    SCAN_TRIGGER: '3',
  });
  const daemon = await startDaemon(lab, files, ['-tcp']);
  t.after(() => daemon.cleanup());
  const { sink } = daemon;
  const s = lab.scanner.ipv4;

  // 1.2: hits 1 and 2 are silent, hit 3 is logged and "blocked", hit 4 is already blocked.
  for (const port of [1, 11]) await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, port);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!sink.messages().some((m) => m.includes(s)), 'below the trigger nothing is logged');
  await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 15);
  await sink.waitForMessage(`attackalert: Connect from host: ${s}/${s} to TCP port: 15`);
  await sink.waitForMessage('attackalert: Ignoring TCP response per configuration file setting.');
  await waitFor(async () => HISTORY_LINE(s, 'TCP').test(await readText(files.history)), {
    timeoutMs: 3000,
    what: 'history line',
  });
  await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 143);
  await sink.waitForMessage(`attackalert: Host: ${s} is already blocked. Ignoring`);

  // SIGHUP: the other host is added to the ignore file; from then on its hits are not acted on, and
  // nothing is said when it reaches the trigger (silent, as in 1.2): it is only counted.
  await (await import('node:fs/promises')).writeFile(files.ignore, `${other.ipv4}\n`);
  daemon.process.kill('SIGHUP');
  await sink.waitForMessage(/^adminalert: Reloaded configuration from .*: 1 ignore entries/);
  const listedBefore = (await readCounters(daemon))['ignoredListed']!;
  for (const port of [1, 11, 15, 143]) await tcpProbe(lab, other, lab.sensor.ipv4, port);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(
    sink.messages().filter((m) => m.includes(other.ipv4)),
    [],
  );
  // SCAN_TRIGGER=3: its later hits reach the trigger, and are counted.
  const listedAfter = (await readCounters(daemon))['ignoredListed']!;
  assert.ok(listedAfter > listedBefore, `ignoredListed rose: ${listedBefore} -> ${listedAfter}`);
  // The traps survived the reload.
  assert.equal((await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 1)).result, 'connected');
  assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
});

test("the sensor's default gateway is never acted on, even when it scans: one refusal line, no block", async (t) => {
  const lab = await createLab({ extraHosts: 1 });
  t.after(() => lab.destroy());
  const [gateway] = lab.others as [typeof lab.sensor];
  await lab.exec(lab.sensor, ['ip', 'route', 'add', 'default', 'via', gateway.ipv4]);
  const files = await prepareFiles({
    TCP_PORTS: '1,11,15',
    UDP_PORTS: '9',
    BLOCK_TCP: '1',
    KILL_ROUTE: '/bin/true $TARGET$',
  });
  const daemon = await startDaemon(lab, files, ['-tcp']);
  t.after(() => daemon.cleanup());
  for (const port of [1, 11, 15]) await tcpProbe(lab, gateway, lab.sensor.ipv4, port);
  await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 1);
  await daemon.sink.waitForMessage(
    `attackalert: Connect from host: ${lab.scanner.ipv4}/${lab.scanner.ipv4} to TCP port: 1`,
  );
  // Three connects from the gateway: refused, and said once (per source per interval), nothing else.
  assert.deepEqual(
    daemon.sink.messages().filter((m) => m.includes(gateway.ipv4)),
    [
      `attackalert: Not blocking host ${gateway.ipv4}: it is a default gateway or a resolver of this host (said once per 600 s per host)`,
    ],
  );
  assert.equal(
    (await tcpProbe(lab, gateway, lab.sensor.ipv4, 1)).result,
    'connected',
    'the gateway still reaches the host',
  );
  assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
});

test('MAX_BLOCKS_PER_MINUTE: past the cap hosts are still logged but not blocked, and it is said once', async (t) => {
  const lab = await createLab({ extraHosts: 2 });
  t.after(() => lab.destroy());
  const files = await prepareFiles({
    TCP_PORTS: '1,11',
    UDP_PORTS: '9',
    BLOCK_TCP: '1',
    KILL_ROUTE: '/bin/true $TARGET$',
    KILL_HOSTS_DENY: '',
    MAX_BLOCKS_PER_MINUTE: '1',
  });
  const daemon = await startDaemon(lab, files, ['-tcp']);
  t.after(() => daemon.cleanup());
  const { sink } = daemon;
  const [second, third] = lab.others as [typeof lab.sensor, typeof lab.sensor];
  await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 1);
  await sink.waitForMessage(`attackalert: Host ${lab.scanner.ipv4} has been blocked via dropped route`);
  for (const host of [second, third]) {
    await tcpProbe(lab, host, lab.sensor.ipv4, 11);
    await sink.waitForMessage(`attackalert: Connect from host: ${host.ipv4}/${host.ipv4} to TCP port: 11`);
  }
  await sink.waitForMessage(
    'adminalert: WARNING: MAX_BLOCKS_PER_MINUTE (1) reached for handshake evidence (completed TCP connections): hosts are still logged but no more are blocked this minute',
  );
  await new Promise((r) => setTimeout(r, 300));
  const messages = sink.messages();
  assert.equal(messages.filter((m) => m.includes('has been blocked')).length, 1);
  assert.equal(messages.filter((m) => m.includes('MAX_BLOCKS_PER_MINUTE')).length, 1, 'said once');
  const history = await readText(files.history);
  assert.ok(
    !history.includes(second.ipv4) && !history.includes(third.ipv4),
    'capped hosts are not recorded as blocked',
  );
  assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
});
