// The version-1 → version-2 upgrade of the ban store, on a real version-1 store
// (test/fixtures/ban-store-v1, written by the version-1 code): every ban comes back right, pending
// ones included, the files are version 2 afterwards, and a crash at any step of the upgrade leaves a
// store that opens to the same bans.
import assert from 'node:assert/strict';
import { appendFile, copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { BanStore, type Ban } from './ban-store.ts';
import { addPayload } from './ban-payload.ts';
import { RecordEncoder } from './ban-records.ts';
import { makeBan } from './ban.ts';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/ban-store-v1/', import.meta.url));
const T = 1_800_000_000_000;
const now = () => T;

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function copyOf(dir: string, names = ['bans.snapshot', 'bans.journal']): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'psn-upgrade-'));
  dirs.push(copy);
  for (const name of names) await copyFile(join(dir, name), join(copy, name));
  return copy;
}

/** The bans version 1 recorded, as version 2 reads them. */
const EXPECTED: Ban[] = [
  makeBan('192.0.2.1', T, null, [23, 24], 'Connect', 'tcp', ['nft'], {
    state: 'settled',
    origin: 'detection',
    evidence: 'handshake',
  }),
  makeBan('192.0.2.2', T, T + 3_600_000, [31337, 1], 'UDP scan', 'udp', ['hosts.deny', 'route', 'cmd'], {
    state: 'settled',
    origin: 'detection',
    evidence: 'datagram',
  }),
  makeBan('2001:db8::5', T, T + 86_400_000, [22, 80, 443], 'TCP SYN/Normal scan', 'stcp', ['nft'], {
    state: 'settled',
    origin: 'detection',
    evidence: 'packet',
  }),
  makeBan('198.51.100.7', T, null, [], 'manual', 'manual', ['nft', 'route'], {
    state: 'settled',
    origin: 'manual',
    evidence: null,
  }),
  makeBan('203.0.113.9', T, T + 60_000, [1], 'TCP FIN scan', 'atcp', ['route'], {
    state: 'settled',
    origin: 'detection',
    evidence: 'packet',
  }),
  makeBan('203.0.113.10', T + 5, T + 600_000, [137], 'UDP scan', 'sudp', ['nft', 'hosts.deny'], {
    state: 'pending',
    origin: 'detection',
    evidence: 'packet',
  }),
  makeBan('203.0.113.11', T + 6, null, [9], 'UDP scan', 'audp', [], {
    state: 'settled',
    origin: 'detection',
    evidence: 'packet',
  }),
  makeBan('2001:db8::6', T + 8, T + 7_200_000, [], 'manual', 'manual', ['nft', 'hosts.deny', 'route'], {
    state: 'pending',
    origin: 'manual',
    evidence: null,
  }),
];

const byAddress = (bans: Iterable<Ban>) => [...bans].sort((a, b) => a.address.localeCompare(b.address));

async function recordTypes(path: string): Promise<string[]> {
  const lines = (await readFile(path, 'latin1')).split('\n').slice(0, -1);
  return lines.map((line) => line.split('\t')[2] ?? '');
}

test('a version-1 store opens with every ban right (pending ones too) and is version 2 afterwards', async () => {
  const dir = await copyOf(FIXTURE);
  const store = await BanStore.open(dir, { now });
  const { corruptRecords, tornTailBytes, snapshotShortfall, rejectedFiles, upgradedRecords } =
    store.loadReport;
  assert.deepEqual(
    { corruptRecords, tornTailBytes, snapshotShortfall, rejectedFiles },
    {
      corruptRecords: 0,
      tornTailBytes: 0,
      snapshotShortfall: 0,
      rejectedFiles: [],
    },
  );
  assert.equal(upgradedRecords, 1 + 6 + 4, 'the header, six snapshot adds and four journal adds');
  assert.deepEqual(byAddress(store.all()), byAddress(EXPECTED));
  assert.equal(store.has('192.0.2.99'), false, 'the removal in the journal holds');

  // Upgraded in place at open: a version-2 snapshot of every ban and an empty journal.
  const snapshot = (await readFile(join(dir, 'bans.snapshot'), 'latin1')).split('\n');
  assert.match(snapshot[0] ?? '', /\tS\tportsnare-bans\t2\t8$/);
  assert.deepEqual(await recordTypes(join(dir, 'bans.snapshot')), ['S', ...EXPECTED.map(() => 'B')]);
  assert.equal((await readFile(join(dir, 'bans.journal'))).length, 0);
  assert.ok(
    snapshot.some((l) =>
      l.endsWith(
        `\tB\t203.0.113.10\t${T + 5}\t${T + 600_000}\t137\tsudp\tnft,hosts.deny\tpending\tdetection\tpacket\tUDP scan`,
      ),
    ),
  );
  await store.add(makeBan('192.0.2.50', T, null, [7], 'Connect', 'tcp', ['nft']));
  await store.close();

  const reopened = await BanStore.open(dir, { now });
  assert.equal(reopened.loadReport.upgradedRecords, 0, 'nothing of version 1 is left');
  assert.deepEqual(
    byAddress(reopened.all()),
    byAddress([...EXPECTED, makeBan('192.0.2.50', T, null, [7], 'Connect', 'tcp', ['nft'])]),
  );
  await reopened.close();
});

test('a crash mid-upgrade leaves a store that opens to the same bans', async () => {
  // After the rename, before the journal's truncation: a version-2 snapshot beside the version-1 journal.
  const upgraded = await copyOf(FIXTURE);
  await (await BanStore.open(upgraded, { now })).close();
  const renamed = await copyOf(upgraded, ['bans.snapshot']);
  await copyFile(join(FIXTURE, 'bans.journal'), join(renamed, 'bans.journal'));
  const a = await BanStore.open(renamed, { now });
  assert.deepEqual(byAddress(a.all()), byAddress(EXPECTED));
  assert.equal(a.loadReport.corruptRecords, 0);
  await a.close();

  // Before the rename: the version-1 files, a half-written temp file, and version-2 records appended
  // to the version-1 journal.
  const before = await copyOf(FIXTURE);
  await appendFile(join(before, 'bans.snapshot.tmp'), 'half a snapsh');
  const added = makeBan('192.0.2.60', T, null, [8], 'Connect', 'tcp', ['nft'], { origin: 'restored' });
  const encoder = new RecordEncoder();
  encoder.push(addPayload(added));
  await appendFile(join(before, 'bans.journal'), encoder.take());
  const b = await BanStore.open(before, { now });
  assert.deepEqual(byAddress(b.all()), byAddress([...EXPECTED, added]));
  assert.equal(b.get('192.0.2.60')?.origin, 'restored');
  assert.deepEqual((await readdir(before)).sort(), ['bans.journal', 'bans.lock', 'bans.snapshot']);
  await b.close();
});
