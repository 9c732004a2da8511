// End to end, as root, in network namespaces this test creates: the built daemon in the stealth
// (-stcp -sudp) and advanced (-atcp -audp) modes capturing with libpcap in the sensor namespace, and
// real nmap SYN, FIN, NULL, XMAS and UDP scans over IPv4 and IPv6 from scanner namespaces. Each scan
// must be logged with 1.2's text, blocked (a blackhole route, KILL_ROUTE's classic job, for both
// families) and recorded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  prepareFiles,
  readText,
  startDaemon,
  startService,
  tcpProbe,
  type RunningDaemon,
} from '../helpers/daemon.ts';
import { createLab, waitFor, type Lab, type LabHost } from '../helpers/netns.ts';

const SERVICE_PORT = 8080;
const SCANS = [
  { flag: '-sS', text: 'TCP SYN/Normal scan', protocol: 'TCP' },
  { flag: '-sF', text: 'TCP FIN scan', protocol: 'TCP' },
  { flag: '-sN', text: ' TCP NULL scan', protocol: 'TCP' },
  { flag: '-sX', text: 'TCP XMAS scan', protocol: 'TCP' },
  { flag: '-sU', text: 'UDP scan', protocol: 'UDP' },
] as const;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function scanAndExpectBlock(
  lab: Lab,
  daemon: RunningDaemon,
  host: LabHost,
  family: 4 | 6,
  scan: (typeof SCANS)[number],
  ports: string,
): Promise<void> {
  const source = family === 4 ? host.ipv4 : host.ipv6;
  const target = family === 4 ? lab.sensor.ipv4 : lab.sensor.ipv6;
  const args = [
    'nmap',
    '-n',
    '-Pn',
    ...(family === 6 ? ['-6'] : []),
    scan.flag,
    '--max-retries',
    '1',
    '-p',
    ports,
    target,
  ];
  await lab.exec(host, args, { timeoutMs: 60_000 });
  const line = new RegExp(
    `^attackalert: ${esc(scan.text)} from host: ${esc(source)}/${esc(source)} to ${scan.protocol} port: \\d+$`,
  );
  await daemon.sink.waitForMessage(line, { timeoutMs: 5000 });
  await daemon.sink.waitForMessage(
    `attackalert: Host ${source} has been blocked via dropped route using command: "/usr/sbin/ip route add blackhole ${source}"`,
  );
  const history = new RegExp(`Host: ${esc(source)}/${esc(source)} Port: \\d+ ${scan.protocol} Blocked$`, 'm');
  await waitFor(async () => history.test(await readText(daemon.files.history)), {
    timeoutMs: 3000,
    what: `history line of ${source}`,
  });
  const routes = await lab.exec(lab.sensor, [
    'ip',
    ...(family === 6 ? ['-6'] : []),
    'route',
    'show',
    'type',
    'blackhole',
  ]);
  assert.match(routes.stdout, new RegExp(`blackhole ${esc(source)}`));
  assert.equal(
    (await tcpProbe(lab, host, target, SERVICE_PORT)).result,
    'timeout',
    `${source} can no longer reach the sensor`,
  );
}

async function packetLab(extraHosts: number) {
  const lab = await createLab({ extraHosts });
  const service = startService(lab, [SERVICE_PORT], 6);
  await waitFor(() => service.stdout().includes('ready'), { timeoutMs: 5000, what: 'the service' });
  return lab;
}

const BLOCKING = {
  BLOCK_TCP: '1',
  BLOCK_UDP: '1',
  KILL_ROUTE: '/usr/sbin/ip route add blackhole $TARGET$',
  KILL_HOSTS_DENY: 'ALL: $TARGET$ : DENY',
};

test('-stcp -sudp: SYN, FIN, NULL, XMAS and UDP scans over IPv4 and IPv6 are logged, blocked, recorded', async (t) => {
  const lab = await packetLab(SCANS.length);
  t.after(() => lab.destroy());
  const files = await prepareFiles({
    TCP_PORTS: '1,11,15,79,111,143,540',
    UDP_PORTS: '1,7,9,69,161,162',
    ...BLOCKING,
  });
  const daemon = await startDaemon(lab, files, ['-stcp', '-sudp']);
  t.after(() => daemon.cleanup());
  const startup = daemon.sink.messages();
  assert.ok(startup.includes('adminalert: Going into stealth listen mode on TCP port: 143'));
  assert.ok(startup.includes('adminalert: Going into stealth listen mode on UDP port: 69'));
  assert.ok(startup.some((m) => m.startsWith('adminalert: Capturing on any with filter: ')));

  for (const [i, scan] of SCANS.entries()) {
    const host = lab.others[i] as LabHost;
    const ports = scan.protocol === 'TCP' ? '1,11,15,111,143,540' : '1,7,9,69,161';
    await t.test(`${scan.flag} over IPv4`, () => scanAndExpectBlock(lab, daemon, host, 4, scan, ports));
    await t.test(`${scan.flag} over IPv6`, () => scanAndExpectBlock(lab, daemon, host, 6, scan, ports));
  }
  // A blocked host's further probes: "already blocked" in 1.2's stealth spelling, no second response.
  const first = lab.others[0] as LabHost;
  await lab.exec(first, ['nmap', '-n', '-Pn', '-sS', '--max-retries', '0', '-p', '1,11,15', lab.sensor.ipv4]);
  await daemon.sink.waitForMessage(
    `attackalert: Host: ${first.ipv4}/${first.ipv4} is already blocked Ignoring`,
  );
  assert.equal(
    daemon.sink
      .messages()
      .filter((m) => m.startsWith(`attackalert: Host ${first.ipv4} has been blocked via dropped route`))
      .length,
    1,
  );
  // ACK scans are part of no conversation we watch for: nothing is logged for them (as in 1.2).
  await lab.exec(lab.scanner, ['nmap', '-n', '-Pn', '-sA', '-p', '1,11,15,111,143', lab.sensor.ipv4]);
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(!daemon.sink.messages().some((m) => m.includes(lab.scanner.ipv4)));
  assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
});

test('-atcp -audp: every unused port below the limit; live services and TIME_WAIT handled', async (t) => {
  const lab = await packetLab(SCANS.length + 1);
  t.after(() => lab.destroy());
  const client = lab.others[SCANS.length] as LabHost;
  const before = startService(lab, [79], 4);
  await waitFor(() => before.stdout().includes('ready'), { timeoutMs: 5000, what: 'the service on 79' });

  // A TIME_WAIT on the sensor's side of port 111: the server closes first, then stops.
  const shortLived = startService(lab, [111], 4);
  await waitFor(() => shortLived.stdout().includes('ready'), { timeoutMs: 5000, what: 'the service on 111' });
  assert.equal((await tcpProbe(lab, client, lab.sensor.ipv4, 111)).data, 'hello\n');
  shortLived.kill('SIGKILL');
  await shortLived.exited;
  const tw = await lab.exec(lab.sensor, ['ss', '-tanH', 'state', 'time-wait', 'sport', '= :111']);
  assert.notEqual(tw.stdout.trim(), '', 'port 111 is in TIME_WAIT on the sensor');

  const files = await prepareFiles({ ADVANCED_PORTS_TCP: '1024', ADVANCED_PORTS_UDP: '1024', ...BLOCKING });
  const daemon = await startDaemon(lab, files, ['-atcp', '-audp']);
  t.after(() => daemon.cleanup());
  const startup = daemon.sink.messages();
  for (const line of [
    'adminalert: Advanced mode will monitor first 1024 ports',
    'adminalert: Advanced mode will manually exclude port: 113 ',
    'adminalert: Advanced Stealth scan detection mode activated. Ignored TCP port: 79',
    'adminalert: Advanced Stealth scan detection mode activated. Ignored TCP port: 113',
    'adminalert: Advanced Stealth scan detection mode activated. Ignored UDP port: 137',
  ]) {
    assert.ok(startup.includes(line), line);
  }
  assert.ok(
    !startup.includes('adminalert: Advanced Stealth scan detection mode activated. Ignored TCP port: 111'),
    'TIME_WAIT is no service',
  );

  // A service started after the daemon: its clients are never hits.
  const after = startService(lab, [25], 4);
  await waitFor(() => after.stdout().includes('ready'), { timeoutMs: 5000, what: 'the service on 25' });
  for (let i = 0; i < 5; i++)
    assert.equal((await tcpProbe(lab, client, lab.sensor.ipv4, 25)).data, 'hello\n');
  assert.equal((await tcpProbe(lab, client, lab.sensor.ipv4, 79)).data, 'hello\n');

  // The TIME_WAIT port is still a trap, and the scans are caught over both families.
  for (const [i, scan] of SCANS.entries()) {
    const host = lab.others[i] as LabHost;
    const ports = '1-12';
    await t.test(`${scan.flag} over IPv4`, () => scanAndExpectBlock(lab, daemon, host, 4, scan, ports));
    if (i === 0) {
      // The SYN scanner is blocked now, so each further probe is logged: the TIME_WAIT port 111 is
      // still a trap. (Right away: a blackholed host soon loses its ARP entry for the sensor.)
      await lab.exec(host, ['nmap', '-n', '-Pn', '-sS', '--max-retries', '0', '-p', '111', lab.sensor.ipv4]);
      await daemon.sink.waitForMessage(
        `attackalert: TCP SYN/Normal scan from host: ${host.ipv4}/${host.ipv4} to TCP port: 111`,
      );
    }
    await t.test(`${scan.flag} over IPv6`, () => scanAndExpectBlock(lab, daemon, host, 6, scan, ports));
  }
  assert.ok(!daemon.sink.messages().some((m) => m.includes(client.ipv4)), 'the service client never appears');
  assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
});
