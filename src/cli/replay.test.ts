// `portsnare replay` as a process: generated and real captures through the same pipeline and
// detector as the live packet modes, printed with 1.2's texts; nothing is written or run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildTcp, buildUdp } from '../../test/builders/packets.ts';
import { LinkType } from '../packets/decode.ts';
import { writePcap } from '../packets/pcap-file.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/pcap/', import.meta.url));

async function replay(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--import',
    'tsx',
    MAIN,
    'replay',
    ...args,
  ]);
  return stdout;
}

async function config(dir: string, lines: string[]): Promise<string> {
  const path = join(dir, 'portsentry.conf');
  await writeFile(
    path,
    [
      `IGNORE_FILE="${dir}/ignore"`,
      `HISTORY_FILE="${dir}/history"`,
      `BLOCKED_FILE="${dir}/blocked"`,
      `HOSTS_DENY_FILE="${dir}/hosts.deny"`,
      `STATE_DIR="${dir}/state"`,
      'BLOCK_TCP="1"',
      'BLOCK_UDP="1"',
      'KILL_ROUTE="/sbin/iptables -I INPUT -s $TARGET$ -j DROP"',
      ...(lines.some((l) => l.startsWith('BLOCK_BACKEND=')) ? [] : ['BLOCK_BACKEND="classic"']),
      ...lines,
    ].join('\n') + '\n',
  );
  await writeFile(join(dir, 'ignore'), '198.51.100.77\n');
  return path;
}

test('a scanner in a capture: logged, blocked on its third port, recorded; spoofed singles and ignored hosts are not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-replay-'));
  const conf = await config(dir, []);
  const me = '192.0.2.1';
  const t0 = Date.UTC(2026, 10, 23, 1, 16, 19) * 1000;
  const packets: { timestampUs: number; data: Uint8Array }[] = [];
  let t = t0;
  const syn = (source: string, port: number, flags = 0x02) =>
    packets.push({
      timestampUs: (t += 1000),
      data: buildTcp({ family: 4, source, destination: me, sourcePort: 40000, destinationPort: port, flags }),
    });
  for (let i = 0; i < 50; i++) syn(`198.18.0.${i}`, 1 + (i % 20)); // a spoofed flood: one port per source
  for (const port of [1, 11, 15, 79]) syn('203.0.113.9', port);
  syn('203.0.113.9', 143, 0x12); // a SYN-ACK: part of a conversation
  for (const port of [1, 11, 15]) syn('198.51.100.77', port); // ignored
  packets.push({
    timestampUs: (t += 1000),
    data: buildTcp({
      family: 6,
      source: '2001:db8::66',
      destination: '2001:db8::1',
      sourcePort: 1,
      destinationPort: 1,
      flags: 0x29,
    }),
  });
  for (const port of [7, 9, 69]) {
    packets.push({
      timestampUs: (t += 1000),
      data: buildUdp({
        family: 6,
        source: '2001:db8::66',
        destination: '2001:db8::1',
        sourcePort: 5353,
        destinationPort: port,
      }),
    });
  }
  const pcap = join(dir, 'scan.pcap');
  await writeFile(pcap, writePcap(LinkType.ETHERNET, packets));

  const out = await replay([
    pcap,
    '--config',
    conf,
    '-atcp',
    '-sudp',
    '--local',
    me,
    '--local',
    '2001:db8::1',
  ]);
  const lines = out.split('\n').filter((l) => l !== '' && !l.startsWith('# startup'));
  assert.equal(lines[1], '# blocking as BLOCK_BACKEND=classic would; nothing is run');
  assert.deepEqual(lines.slice(2, 7), [
    'Nov 23 01:16:19 attackalert: TCP SYN/Normal scan from host: 203.0.113.9/203.0.113.9 to TCP port: 15',
    'Nov 23 01:16:19 attackalert: Host 203.0.113.9 has been blocked via wrappers with string: "ALL: 203.0.113.9 : DENY"',
    'Nov 23 01:16:19 attackalert: Host 203.0.113.9 has been blocked via dropped route using command: "/sbin/iptables -I INPUT -s 203.0.113.9 -j DROP"',
    'Nov 23 01:16:19 attackalert: TCP SYN/Normal scan from host: 203.0.113.9/203.0.113.9 to TCP port: 79',
    'Nov 23 01:16:19 attackalert: Host: 203.0.113.9/203.0.113.9 is already blocked Ignoring',
  ]);
  assert.ok(
    lines.includes(
      'Nov 23 01:16:19 attackalert: UDP scan from host: 2001:db8::66/2001:db8::66 to UDP port: 69',
    ),
  );
  assert.ok(!out.includes('198.18.'), 'one-port spoofed sources never alert');
  assert.ok(!out.includes('198.51.100.77'), 'ignored hosts never appear');
  assert.match(out, /# 62 packets, 61 probes, 2 host\(s\) would be blocked/);
  assert.match(
    out,
    /# history: \d+ - 11\/23\/2026 \d\d:\d\d:\d\d Host: 203\.0\.113\.9\/203\.0\.113\.9 Port: 15 TCP Blocked/,
  );
  assert.equal(existsSync(join(dir, 'history')), false, 'replay writes nothing');
  assert.equal(existsSync(join(dir, 'hosts.deny')), false);
});

test('real nmap captures give 1.2 texts (first probe acts, as 1.2, with STEALTH_TRIGGER_PORTS=1)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-replay-'));
  const conf = await config(dir, [
    'STEALTH_TRIGGER_PORTS="1"',
    'ADVANCED_PORTS_TCP="65536"',
    'ADVANCED_PORTS_UDP="65536"',
  ]);
  const expect: [string, RegExp][] = [
    ['ipv4-nmap-sS.pcap', /attackalert: TCP SYN\/Normal scan from host: (\S+)\/\1 to TCP port: \d+/],
    ['ipv6-nmap-sF.pcap', /attackalert: TCP FIN scan from host: (\S+)\/\1 to TCP port: \d+/],
    ['ipv4-nmap-sN.pcap', /attackalert: {2}TCP NULL scan from host: (\S+)\/\1 to TCP port: \d+/],
    ['ipv6-nmap-sX.pcap', /attackalert: TCP XMAS scan from host: (\S+)\/\1 to TCP port: \d+/],
    ['ipv4-nmap-sU.pcap', /attackalert: UDP scan from host: (\S+)\/\1 to UDP port: \d+/],
    [
      'ipv4-hping3-syn-fin.pcap',
      /attackalert: Unknown Type: TCP Packet Flags: SYN: 1 FIN: 1 ACK: 0 PSH: 0 URG: 0 RST: 0 from host/,
    ],
    ['ipv4-nmap-ip-options.pcap', /has IP options set \(detection avoidance technique\)\.$/m],
    ['any-linux-sll2.pcap', /scan from host: /],
    ['vlan-8021q.pcap', /scan from host: /],
  ];
  for (const [file, pattern] of expect) {
    const out = await replay([join(FIXTURES, file), '--config', conf, '-atcp', '-audp']);
    assert.match(out, pattern, file);
  }
  const ack = await replay([join(FIXTURES, 'ipv4-nmap-sA.pcap'), '--config', conf, '-atcp', '-audp']);
  assert.ok(!ack.includes('attackalert'), 'an ACK scan is no hit, as in 1.2');
});

test('replay shows the nftables backend as the daemon would use it, with BLOCK_TIME', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-replay-'));
  const conf = await config(dir, ['BLOCK_BACKEND="nft"', 'BLOCK_TIME="600"']);
  let t = Date.UTC(2026, 10, 23, 1, 16, 19) * 1000;
  const packets = [1, 11, 15].map((port) => ({
    timestampUs: (t += 1000),
    data: buildTcp({
      family: 4,
      source: '203.0.113.9',
      destination: '192.0.2.1',
      sourcePort: 40000,
      destinationPort: port,
      flags: 0x02,
    }),
  }));
  const pcap = join(dir, 'scan.pcap');
  await writeFile(pcap, writePcap(LinkType.ETHERNET, packets));
  const out = await replay([pcap, '--config', conf, '-stcp', '--local', '192.0.2.1']);
  assert.ok(out.includes('# blocking as BLOCK_BACKEND=nft would; nothing is run\n'), out);
  assert.ok(
    out.includes(
      'attackalert: Host 203.0.113.9 has been blocked via nftables set: inet portsnare blocked4 for 600 s\n',
    ),
    out,
  );
  assert.ok(!out.includes('dropped route'), 'KILL_ROUTE is not what nft does');
});

test('a capture that goes bad part way: what came before is replayed, then the place is named and the exit is 1', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-replay-'));
  const conf = await config(dir, []);
  const t0 = Date.UTC(2026, 10, 23, 1, 16, 19) * 1000;
  const frames = [1, 11, 15, 79].map((port, i) => ({
    timestampUs: t0 + i * 1000,
    data: buildTcp({
      family: 4,
      source: '203.0.113.5',
      destination: '192.0.2.1',
      sourcePort: 40000,
      destinationPort: port,
      flags: 0x02,
    }),
  }));
  const file = Buffer.from(writePcap(LinkType.ETHERNET, frames));
  const fourth = 24 + 3 * (16 + (frames[0]?.data.length ?? 0));
  file.writeUInt32LE(0xffffffff, fourth + 8); // the fourth record claims 4 GiB
  const path = join(dir, 'bad.pcap');
  await writeFile(path, file);
  const run = await promisify(execFile)(process.execPath, [
    '--import',
    'tsx',
    MAIN,
    'replay',
    path,
    '--config',
    conf,
    '-stcp',
  ]).then(
    () => assert.fail('replay of a damaged file exited 0'),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
  assert.equal(run.code, 1);
  assert.match(run.stdout, /TCP SYN\/Normal scan from host: 203\.0\.113\.5\/203\.0\.113\.5 to TCP port: 15/);
  assert.doesNotMatch(run.stdout, /to TCP port: 79$/m);
  assert.match(
    run.stdout,
    new RegExp(`^# stopped at record 4 at byte ${fourth}: captured length 4294967295`, 'm'),
  );
  assert.match(
    run.stderr,
    new RegExp(`bad\\.pcap: record 4 at byte ${fourth}: .*; the rest of the file was not read`),
  );
});
