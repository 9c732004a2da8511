// Tests for issue 9 item 6 (store corruption): a checksummed record whose address is not a canonical
// unicast address is skipped and counted, never loaded; a snapshot emptied, unreadable or announcing
// bans it does not hold is reported as lost bans (snapshotLoss, logged at ERROR by daemon/bans).
// The files are written by the store itself, then damaged, re-encoding a record with the store's
// own encoder where the damage must still check out.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { formatMessage } from '../report/messages.ts';
import { BanStore, snapshotLoss } from './ban-store.ts';
import { banDefaults, type Ban } from './ban.ts';
import { RecordEncoder } from './ban-records.ts';

const SNAPSHOT = 'bans.snapshot';
const JOURNAL = 'bans.journal';
const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'psn-damage-'));
  dirs.push(dir);
  return dir;
}

function ban(address: string): Ban {
  return {
    address,
    since: 1_700_000_000_000,
    expires: null,
    ports: [22],
    scanType: 'TCP SYN/Normal scan',
    mode: 'stcp',
    backends: ['nft'],
    ...banDefaults('stcp'),
  };
}

const ADDRESSES = ['10.1.1.1', '10.1.1.2', '10.1.1.3', '2001:db8::7'];

/** A store holding ADDRESSES in its snapshot (closed). */
async function closedStore(): Promise<string> {
  const dir = await scratch();
  const store = await BanStore.open(dir);
  await store.addMany(ADDRESSES.map((a) => ban(a)));
  await store.close();
  return dir;
}

/** The directory's files (not the lock) copied elsewhere, as a crash would leave them. */
async function crashCopy(dir: string): Promise<string> {
  const copy = await scratch();
  for (const name of await readdir(dir)) {
    if (name !== 'bans.lock') await copyFile(join(dir, name), join(copy, name));
  }
  return copy;
}

/** Rewrites every record of `file` whose payload holds `\t<from>\t` with `to` instead, checksummed anew. */
async function replaceAddress(path: string, from: string, to: string): Promise<void> {
  const lines = (await readFile(path, 'latin1')).split('\n').filter((l) => l !== '');
  const encoder = new RecordEncoder();
  let replaced = 0;
  for (const line of lines) {
    const payload = line.split('\t').slice(2).join('\t');
    const fields = payload.split('\t');
    if (fields[1] === from) {
      fields[1] = to;
      replaced++;
    }
    encoder.push(fields.join('\t'));
  }
  assert.ok(replaced > 0, `no record of ${from} in ${path}`);
  await writeFile(path, encoder.take());
}

test('a checksummed snapshot record with the address 010.1.1.1 is skipped and counted; the rest load', async () => {
  const dir = await closedStore();
  await replaceAddress(join(dir, SNAPSHOT), '10.1.1.1', '010.1.1.1');
  const store = await BanStore.open(dir);
  const report = store.loadReport;
  assert.equal(report.badAddresses, 1);
  assert.equal(report.corruptRecords, 0);
  assert.equal(report.snapshotBans, 3);
  assert.equal(report.snapshotShortfall, 0);
  assert.deepEqual([...store.all()].map((b) => b.address).sort(), ['10.1.1.2', '10.1.1.3', '2001:db8::7']);
  assert.equal(store.has('010.1.1.1'), false);
  assert.equal(snapshotLoss(report), null);
  await store.close();
  // Rewritten once: the next open finds nothing wrong.
  const again = await BanStore.open(dir);
  assert.equal(again.loadReport.badAddresses, 0);
  assert.equal(again.size, 3);
  await again.close();
});

test('journal records with a non-canonical or non-unicast address are skipped and counted', async () => {
  const dir = await scratch();
  const store = await BanStore.open(dir);
  await store.addMany(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '2001:db8::9'].map((a) => ban(a)));
  const copy = await crashCopy(dir);
  await store.close();
  const journal = join(copy, JOURNAL);
  await replaceAddress(journal, '192.0.2.1', '224.0.0.1');
  await replaceAddress(journal, '192.0.2.2', '255.255.255.255');
  await replaceAddress(journal, '192.0.2.3', '1.2.3.04');
  await replaceAddress(journal, '2001:db8::9', '2001:0db8::9');
  const loaded = await BanStore.open(copy);
  assert.equal(loaded.loadReport.badAddresses, 4);
  assert.equal(loaded.loadReport.corruptRecords, 0);
  assert.deepEqual(
    [...loaded.all()].map((b) => b.address),
    ['192.0.2.4'],
  );
  await loaded.close();
});

test('a snapshot truncated to 0 bytes is reported as lost bans, with the journal removes that show it', async () => {
  const dir = await closedStore();
  const store = await BanStore.open(dir);
  assert.equal(store.loadReport.snapshotState, 'read');
  await store.remove('10.1.1.2');
  const copy = await crashCopy(dir);
  await store.close();
  await truncate(join(copy, SNAPSHOT), 0);
  const loaded = await BanStore.open(copy);
  const report = loaded.loadReport;
  assert.equal(loaded.size, 0);
  assert.equal(report.snapshotState, 'empty');
  assert.equal(report.unknownRemoves, 1);
  const text = snapshotLoss(report);
  assert.match(text ?? '', /bans\.snapshot is empty \(0 bytes\).*lost; the journal removes 1 ban\(s\)/);
  assert.equal(
    formatMessage({ kind: 'banStoreLost', dir: 'STATE_DIR/bans', text: text ?? '' }),
    `adminalert: ERROR: ban store STATE_DIR/bans: ${text ?? ''}`,
  );
  await loaded.close();
  // The loss is said once: the store was rewritten with what it has.
  const again = await BanStore.open(copy);
  assert.equal(snapshotLoss(again.loadReport), null);
  await again.close();
});

test('an empty snapshot alone is a loss; a missing one only when the journal removes unknown bans', async () => {
  const dir = await closedStore();
  await truncate(join(dir, SNAPSHOT), 0);
  const empty = await BanStore.open(dir);
  assert.match(snapshotLoss(empty.loadReport) ?? '', /is empty \(0 bytes\)/);
  await empty.close();

  const fresh = await scratch();
  const first = await BanStore.open(fresh);
  assert.equal(snapshotLoss(first.loadReport), null, 'a new store has lost nothing');
  await first.close();

  const dir2 = await closedStore();
  const store = await BanStore.open(dir2);
  await store.remove('10.1.1.3');
  await store.add(ban('10.9.9.9'));
  const copy = await crashCopy(dir2);
  await store.close();
  await unlink(join(copy, SNAPSHOT));
  const missing = await BanStore.open(copy);
  assert.equal(missing.loadReport.snapshotState, 'missing');
  assert.match(
    snapshotLoss(missing.loadReport) ?? '',
    /bans\.snapshot is missing, but the journal removes 1 ban\(s\) that were not loaded/,
  );
  assert.deepEqual(
    [...missing.all()].map((b) => b.address),
    ['10.9.9.9'],
  );
  await missing.close();
});

test('a snapshot whose header announces bans and holds none, or that no record of checks out, is a loss', async () => {
  const dir = await closedStore();
  const path = join(dir, SNAPSHOT);
  const header = (await readFile(path, 'latin1')).split('\n')[0] ?? '';
  await writeFile(path, `${header}\n`, 'latin1');
  const cut = await BanStore.open(dir);
  assert.equal(cut.loadReport.snapshotShortfall, ADDRESSES.length);
  assert.match(snapshotLoss(cut.loadReport) ?? '', /announces 4 ban\(s\) and holds none/);
  await cut.close();

  const dir2 = await closedStore();
  await writeFile(join(dir2, SNAPSHOT), 'garbage\nmore garbage\n');
  const garbage = await BanStore.open(dir2);
  assert.equal(garbage.loadReport.snapshotState, 'rejected');
  assert.match(snapshotLoss(garbage.loadReport) ?? '', /could not be read/);
  await garbage.close();
});
