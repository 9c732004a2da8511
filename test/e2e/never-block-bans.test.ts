// End to end, as root, in network namespaces this test creates (issue 9 item 2): a ban whose host
// is added to the ignore file is lifted at the SIGHUP that reads it, with a line saying why, and
// does not come back at a restart; a stored ban of a host that became ignored while no daemon ran
// is not put back at the start: it is lifted from the nft set and hosts.deny (left from before),
// forgotten by the store, and said.
import assert from 'node:assert/strict';
import { appendFile, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import {
  nftSetElements as setElements,
  portsnareCli,
  prepareFiles,
  startDaemon,
  tcpProbe,
} from '../helpers/daemon.ts';
import { createLab } from '../helpers/netns.ts';

const TRAPS = '1,11,143';

async function denyLines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

void test('a banned host added to the ignore file is unblocked at SIGHUP and stays unblocked after a restart; a stored ban of an ignored host is not restored', async (t) => {
  const lab = await createLab();
  t.after(() => lab.destroy());
  const files = await prepareFiles({
    TCP_PORTS: TRAPS,
    UDP_PORTS: '9',
    BLOCK_TCP: '1',
    BLOCK_BACKEND: 'both',
    KILL_HOSTS_DENY: 'ALL: $TARGET$ : DENY',
  });
  let daemon = await startDaemon(lab, files, ['-tcp']);
  t.after(() => daemon.cleanup());
  const scanner = lab.scanner.ipv4;
  const [byHand, later] = ['203.0.113.5', '203.0.113.6'];

  // Bans: the scanner by detection, two hosts by hand.
  await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 143);
  await daemon.sink.waitForMessage(`attackalert: Host ${scanner} has been blocked via nftables set`);
  for (const address of [byHand, later]) {
    const r = await portsnareCli(lab, files, ['block', address]);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.deepEqual((await setElements(lab, 'blocked4')).sort(), [scanner, byHand, later].sort());

  // The administrator ignores the scanner and one of them, and sends SIGHUP: both are unblocked at once.
  await appendFile(files.ignore, `${scanner}\n${byHand}/32\n`);
  process.kill(daemon.process.pid, 'SIGHUP');
  for (const address of [scanner, byHand]) {
    await daemon.sink.waitForMessage(
      `attackalert: Host ${address} has been unblocked (it is on the ignore list): nft, hosts.deny`,
    );
  }
  assert.deepEqual(await setElements(lab, 'blocked4'), [later]);
  assert.deepEqual(await denyLines(files.hostsDeny), [`ALL: ${later} : DENY`]);

  // Stopped; `later` is ignored while nobody runs. Its nft element and hosts.deny line are still there.
  assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
  await daemon.sink.close();
  await appendFile(files.ignore, `${later}\n`);
  assert.deepEqual(await setElements(lab, 'blocked4'), [later]);

  daemon = await startDaemon(lab, files, ['-tcp']);
  const { sink } = daemon;
  // (KILL_ROUTE's default blackhole route was one of its backends too.)
  const refusal = `adminalert: Not restoring the ban of host ${later}: it is on the ignore list; lifted from: nft, hosts.deny`;
  assert.ok(
    sink.messages().some((m) => m.startsWith(refusal)),
    sink.messages().join('\n'),
  );
  assert.ok(!sink.messages().some((m) => m.startsWith('adminalert: Restored ')), 'nothing restored');
  assert.deepEqual(await setElements(lab, 'blocked4'), []);
  assert.deepEqual(await denyLines(files.hostsDeny), []);
  const list = await portsnareCli(lab, files, ['list', '--json']);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(JSON.parse(list.stdout), [], 'the store forgot them');
  // status (and its --json) shows the syslog drop counter: none here, the test's socket takes every line.
  const status = await portsnareCli(lab, files, ['status', '--json']);
  assert.equal(status.code, 0, status.stderr);
  assert.equal(
    (JSON.parse(status.stdout) as { counters: Record<string, number> }).counters['syslog.dropped'],
    0,
  );
  assert.match((await portsnareCli(lab, files, ['status'])).stdout, /^Counters: .* syslog\.dropped=0( |$)/m);
  assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
});
