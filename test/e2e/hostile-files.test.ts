// End to end, as root, in network namespaces this test creates (issue 9 items 6 and 7): a ban store
// with one checksummed record of the address 010.1.1.1 still restores every other ban into nft and
// says what it skipped; a HISTORY_FILE and a HOSTS_DENY_FILE replaced by FIFOs after the start make
// the responses fail with a line, never hang, and the daemon still stops on SIGTERM at once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { BanStore } from '../../src/state/ban-store.ts';
import { banDefaults } from '../../src/state/ban.ts';
import { RecordEncoder } from '../../src/state/ban-records.ts';
import { nftSetElements, prepareFiles, startDaemon, tcpProbe } from '../helpers/daemon.ts';
import { createLab } from '../helpers/netns.ts';

const TRAPS = '1,11,143';

/** Settles within `ms`, or rejects saying what hung. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

void test('a store record with the address 010.1.1.1 is skipped; every other ban goes back into nft', async (t) => {
  const lab = await createLab();
  t.after(() => lab.destroy());
  const files = await prepareFiles({ TCP_PORTS: TRAPS, UDP_PORTS: '9', BLOCK_BACKEND: 'nft' });
  const addresses = ['198.51.100.1', '198.51.100.2', '10.1.1.1', '198.51.100.3'];
  const bansDir = join(files.stateDir, 'bans');
  const store = await BanStore.open(bansDir);
  await store.addMany(
    addresses.map((address) => ({
      address,
      since: Date.now(),
      expires: null,
      ports: [1],
      scanType: 'Connect',
      mode: 'tcp',
      backends: ['nft' as const],
      ...banDefaults('tcp'),
    })),
  );
  await store.close();
  // The damage checks out: the record is re-encoded with the store's own encoder.
  const snapshot = join(bansDir, 'bans.snapshot');
  const encoder = new RecordEncoder();
  for (const line of (await readFile(snapshot, 'latin1')).split('\n').filter(Boolean)) {
    encoder.push(line.split('\t').slice(2).join('\t').replace('\t10.1.1.1\t', '\t010.1.1.1\t'));
  }
  await writeFile(snapshot, encoder.take());

  const daemon = await startDaemon(lab, files, ['-tcp']);
  t.after(() => daemon.cleanup());
  const messages = daemon.sink.messages();
  assert.ok(
    messages.some((m) =>
      /^adminalert: WARNING: ban store .*: 1 record\(s\) skipped whose address is not a canonical unicast address$/.test(
        m,
      ),
    ),
    messages.join('\n'),
  );
  assert.ok(
    messages.some((m) => m.startsWith('adminalert: Restored 3 ban(s) from')),
    messages.join('\n'),
  );
  assert.ok(!messages.some((m) => m.includes('NFT for host')), messages.join('\n'));
  assert.deepEqual((await nftSetElements(lab, 'blocked4')).sort(), [
    '198.51.100.1',
    '198.51.100.2',
    '198.51.100.3',
  ]);
  const stopped = await within(5000, 'SIGTERM', daemon.stop());
  assert.equal(stopped.code, 0);
});

void test('HISTORY_FILE and HOSTS_DENY_FILE replaced by FIFOs after the start: failures said at once, SIGTERM still stops it', async (t) => {
  const lab = await createLab({ extraHosts: 1 });
  t.after(() => lab.destroy());
  const [second] = lab.others as [typeof lab.sensor];
  const files = await prepareFiles({ TCP_PORTS: TRAPS, UDP_PORTS: '9', BLOCK_TCP: '1', KILL_ROUTE: '' });
  const daemon = await startDaemon(lab, files, ['-tcp']);
  t.after(() => daemon.cleanup());
  const { sink } = daemon;
  const mkfifo = (path: string) => promisify(execFile)('mkfifo', [path]);

  // The history file becomes a FIFO: the ban holds (hosts.deny), the history line is a logged failure.
  await rm(files.history, { force: true });
  await mkfifo(files.history);
  await tcpProbe(lab, lab.scanner, lab.sensor.ipv4, 143);
  await sink.waitForMessage(
    `attackalert: Host ${lab.scanner.ipv4} has been blocked via wrappers with string: "ALL: ${lab.scanner.ipv4} : DENY"`,
    { timeoutMs: 5000 },
  );
  const escaped = files.history.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await sink.waitForMessage(new RegExp(`^adminalert: ERROR: Cannot write ${escaped}: .*FIFO`), {
    timeoutMs: 5000,
  });

  // hosts.deny becomes a FIFO: that response fails with 1.2's lines, at once.
  await rm(files.hostsDeny, { force: true });
  await mkfifo(files.hostsDeny);
  await tcpProbe(lab, second, lab.sensor.ipv4, 143);
  await sink.waitForMessage(`adminalert: cannot open hosts.deny file: ${files.hostsDeny} for blocking.`, {
    timeoutMs: 5000,
  });
  await sink.waitForMessage(`attackalert: ERROR: Could not block host ${second.ipv4} !!`, {
    timeoutMs: 5000,
  });

  const started = Date.now();
  const stopped = await within(5000, 'SIGTERM', daemon.stop());
  assert.equal(stopped.code, 0, daemon.process.stderr());
  assert.ok(Date.now() - started < 5000);
});
