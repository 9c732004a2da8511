// Tests for src/state/ban-store.ts: the API, round trips through the journal and the snapshot,
// hostile files, real crashes (a writer process SIGKILLed at random moments, also mid-compaction)
// and a million bans. A store's files "as a crash would leave them" are taken by copying its
// directory while it is still open. Run: node --import tsx --test src/state/ban-store.test.ts
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { ErrorCodes } from '../errors.ts';
import { BanStore, type Ban } from './ban-store.ts';
import { banDefaults } from './ban.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WRITER = fileURLToPath(new URL('../../test/fixtures/processes/ban-writer.ts', import.meta.url));
const STORE_MODULE = new URL('./ban-store.ts', import.meta.url).href;
const JOURNAL = 'bans.journal';
const SNAPSHOT = 'bans.snapshot';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'psn-bans-'));
  dirs.push(dir);
  return dir;
}

/**
 * The directory's files copied elsewhere: what a crash at this moment would leave behind. The lock
 * file names this (live) process, so a copy would be "in use"; a crashed owner's lock is stale, which
 * the lock test covers.
 */
async function crashCopy(dir: string): Promise<string> {
  const copy = await scratch();
  for (const name of await readdir(dir)) {
    if (name !== 'bans.lock') await copyFile(join(dir, name), join(copy, name));
  }
  return copy;
}

function ban(address: string, fields: Partial<Ban> = {}): Ban {
  return {
    address,
    since: 1_700_000_000_000,
    expires: 4_102_444_800_000, // 2100
    ports: [22, 80],
    scanType: 'TCP SYN/Normal scan',
    mode: 'stcp',
    backends: ['nft', 'hosts.deny'],
    ...banDefaults(fields.mode ?? 'stcp'),
    ...fields,
  };
}

/** What open() reported dropping. */
function damage({ loadReport }: BanStore) {
  const { corruptRecords, tornTailBytes, snapshotShortfall, rejectedFiles } = loadReport;
  return { corruptRecords, tornTailBytes, snapshotShortfall, rejectedFiles };
}
const NONE = { corruptRecords: 0, tornTailBytes: 0, snapshotShortfall: 0, rejectedFiles: [] };

const lines = async (path: string) => (await readFile(path, 'latin1')).split('\n').slice(0, -1);

test('a second process cannot open a store that a running process holds; a dead holder is no obstacle', async () => {
  const dir = await scratch();
  const store = await BanStore.open(dir);
  await store.add(ban('192.0.2.1'));
  const OPEN = `
    import { BanStore } from './src/state/ban-store.ts';
    try { const s = await BanStore.open(process.argv[1]); process.stdout.write(String(s.size)); await s.close(); }
    catch (err) { process.stdout.write(err.code + ': ' + err.message); }
  `;
  const openElsewhere = async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', OPEN, dir], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await once(child, 'close');
    return output;
  };
  assert.match(await openElsewhere(), new RegExp(`PSN_ERR_FILE: .*in use by process ${process.pid}`));
  await store.close();
  // A lock left by a process that no longer runs (kill -9) is taken over.
  await writeFile(join(dir, 'bans.lock'), '2147483646\n');
  assert.equal(await openElsewhere(), '1');
});

// ---------------------------------------------------------------------------------------------
// The API.

test('add, get, has, replace, remove, all; one store per directory', async () => {
  const dir = join(await scratch(), 'state');
  const store = await BanStore.open(dir);
  await assert.rejects(BanStore.open(dir), { code: ErrorCodes.FILE, message: /already open/ });
  const manual = ban('2001:db8::1', { expires: null, mode: 'manual', ports: [], backends: [] });
  await store.add(ban('192.0.2.1'));
  await store.add(manual);
  assert.equal(store.size, 2);
  assert.ok(store.has('192.0.2.1'));
  assert.deepEqual(store.get('2001:db8::1'), manual);

  await store.add(ban('192.0.2.1', { ports: [443], scanType: 'Connect', mode: 'tcp' }));
  assert.equal(store.size, 2, 'replacing keeps one entry per address');
  assert.deepEqual(store.get('192.0.2.1')?.ports, [443]);

  assert.equal(await store.remove('192.0.2.1'), true);
  assert.equal(await store.remove('192.0.2.1'), false);
  assert.equal(await store.remove('not an address'), false);
  assert.deepEqual(
    [...store.all()].map((b) => b.address),
    ['2001:db8::1'],
  );
  await store.close();
});

test("stored bans are the store's own frozen copies", async () => {
  const store = await BanStore.open(await scratch());
  const mine = ban('192.0.2.9');
  await store.add(mine);
  mine.ports.push(1);
  const stored = store.get('192.0.2.9');
  assert.ok(stored);
  assert.deepEqual(stored.ports, [22, 80]);
  assert.throws(() => stored.ports.push(3), TypeError);
  assert.throws(() => (stored.expires = null), TypeError);
  await store.close();
});

test('invalid bans are refused and a batch is all or nothing', async () => {
  const store = await BanStore.open(await scratch());
  await assert.rejects(store.add(ban('::FFFF:192.0.2.1')), { code: ErrorCodes.INVALID_ADDRESS });
  await assert.rejects(store.add(ban('192.0.2.01')), { code: ErrorCodes.INVALID_ADDRESS });
  await assert.rejects(store.add(ban('192.0.2.1', { ports: [70000] })), TypeError);
  await assert.rejects(store.add(ban('192.0.2.1', { since: 1.5 })), TypeError);
  await assert.rejects(store.add(ban('192.0.2.1', { scanType: 'a\nA\t1.2.3.4' })), TypeError);
  await assert.rejects(store.add(ban('192.0.2.1', { mode: 'tcp\tx' })), TypeError);
  await assert.rejects(
    store.add(ban('192.0.2.1', { backends: ['nft,route'] as unknown as Ban['backends'] })),
    TypeError,
  );
  await assert.rejects(store.addMany([ban('192.0.2.2'), ban('192.0.2.3', { expires: -1 })]), TypeError);
  assert.equal(store.size, 0);
  await store.close();
  await assert.rejects(store.add(ban('192.0.2.4')), /closed/);
  await store.close(); // twice is fine
});

test('expiry: expired() lists what has passed; open() drops it for good and reports it', async () => {
  const dir = await scratch();
  let now = 1_000;
  const store = await BanStore.open(dir, { now: () => now });
  await store.addMany([
    ban('192.0.2.1', { expires: 2_000 }),
    ban('192.0.2.2', { expires: 3_000 }),
    ban('192.0.2.3', { expires: null }),
  ]);
  assert.deepEqual(store.expired(), []);
  now = 2_000;
  assert.deepEqual(
    store.expired().map((b) => b.address),
    ['192.0.2.1'],
  );
  await store.remove('192.0.2.1');
  assert.deepEqual(store.expired(), []);
  assert.deepEqual(
    store.expired(10_000).map((b) => b.address),
    ['192.0.2.2'],
  );
  await store.close();

  const later = await BanStore.open(dir, { now: () => 5_000 });
  assert.deepEqual(
    later.loadReport.expired.map((b) => b.address),
    ['192.0.2.2'],
  );
  assert.deepEqual(
    [...later.all()].map((b) => b.address),
    ['192.0.2.3'],
  );
  const again = await BanStore.open(await crashCopy(dir), { now: () => 5_000 });
  assert.deepEqual(again.loadReport.expired, [], 'the drop was journaled');
  assert.equal(again.size, 1);
  await Promise.all([later.close(), again.close()]);
});

// ---------------------------------------------------------------------------------------------
// Round trips.

const MIXED = [
  ban('192.0.2.1'),
  ban('2001:db8::7', { expires: null, ports: [0, 65535], scanType: 'UDP scan', mode: 'audp' }),
  ban('fe80::1', { backends: ['route'], ports: [] }),
  ban('198.51.100.200', { scanType: 'TCP NULL scan — ünïcode', mode: 'manual', backends: [] }),
];

test('round trip through the journal (no close) and through the snapshot (close)', async () => {
  const dir = await scratch();
  const store = await BanStore.open(dir);
  await store.addMany(MIXED);
  await store.add(ban('203.0.113.5'));
  await store.remove('203.0.113.5');

  const fromJournal = await BanStore.open(await crashCopy(dir));
  assert.deepEqual(damage(fromJournal), NONE);
  assert.deepEqual([...fromJournal.all()], MIXED);
  assert.equal(fromJournal.loadReport.journalRecords, 6);
  await fromJournal.close();

  await store.close();
  assert.equal((await stat(join(dir, JOURNAL))).size, 0, 'close compacts');
  const fromSnapshot = await BanStore.open(dir);
  assert.deepEqual(damage(fromSnapshot), NONE);
  assert.deepEqual([...fromSnapshot.all()], MIXED);
  assert.equal(fromSnapshot.loadReport.snapshotBans, 4);
  await fromSnapshot.add(ban('203.0.113.6'));
  const both = await BanStore.open(await crashCopy(dir));
  assert.equal(both.size, 5);
  assert.equal(both.loadReport.recordsRead, 5);
  await Promise.all([fromSnapshot.close(), both.close()]);
});

test('compaction runs by itself after compactEvery records; concurrent adds all land', async () => {
  const dir = await scratch();
  const store = await BanStore.open(dir, { compactEvery: 50 });
  const addresses = Array.from({ length: 120 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
  await Promise.all(addresses.map((a) => store.add(ban(a))));
  await store.add(ban('10.1.0.0')); // queued behind the background compaction
  assert.ok((await lines(join(dir, JOURNAL))).length < 50);
  assert.ok((await lines(join(dir, SNAPSHOT))).length > 50);
  const copy = await BanStore.open(await crashCopy(dir));
  assert.deepEqual(damage(copy), NONE);
  assert.equal(copy.size, 121);
  await Promise.all([store.close(), copy.close()]);
  assert.deepEqual((await readdir(dir)).sort(), [JOURNAL, SNAPSHOT]);
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.equal((await stat(join(dir, SNAPSHOT))).mode & 0o777, 0o600);
});

// ---------------------------------------------------------------------------------------------
// Hostile files. Each starts from real files and damages them; open() must never throw.

/** A directory whose journal holds MIXED (4 adds) and no snapshot. */
async function journalOnly(): Promise<{ dir: string; records: string[] }> {
  const dir = await scratch();
  const store = await BanStore.open(dir);
  for (const b of MIXED) await store.add(b);
  const copy = await crashCopy(dir);
  await store.close();
  return { dir: copy, records: await lines(join(copy, JOURNAL)) };
}

test('garbage after the last record is a torn tail: dropped, truncated, reported', async () => {
  const { dir } = await journalOnly();
  const good = (await stat(join(dir, JOURNAL))).size;
  const garbage = Buffer.from('garbage\n\x00\x01\xff more garbage', 'latin1');
  await writeFile(join(dir, JOURNAL), garbage, { flag: 'a' });
  const store = await BanStore.open(dir);
  assert.equal(store.loadReport.tornTailBytes, garbage.length);
  assert.equal(store.loadReport.corruptRecords, 0);
  assert.deepEqual([...store.all()], MIXED);
  assert.equal((await stat(join(dir, JOURNAL))).size, good);
  await store.close();
});

test('a truncated last record is dropped and the next append follows the good ones', async () => {
  const { dir, records } = await journalOnly();
  const path = join(dir, JOURNAL);
  const bytes = await readFile(path);
  await writeFile(path, bytes.subarray(0, bytes.length - 20));
  const store = await BanStore.open(dir);
  const lastLine = Buffer.byteLength(`${records[3]}\n`, 'latin1');
  assert.equal(store.loadReport.tornTailBytes, lastLine - 20);
  assert.equal((await stat(path)).size, bytes.length - lastLine);
  assert.deepEqual([...store.all()], MIXED.slice(0, 3));
  await store.add(MIXED[3] as Ban);
  const reopened = await BanStore.open(await crashCopy(dir));
  assert.deepEqual(damage(reopened), NONE);
  assert.deepEqual([...reopened.all()], MIXED);
  await Promise.all([store.close(), reopened.close()]);
});

test('a flipped byte or a garbage line in the middle: that record skipped and counted, the rest loaded', async () => {
  const { dir, records } = await journalOnly();
  const flipped = [...records];
  flipped[1] = (flipped[1] as string).replace('2001:db8::7', '2001:db8::6');
  await writeFile(
    join(dir, JOURNAL),
    [records[0], 'not a record', ...flipped.slice(1), ''].join('\n'),
    'latin1',
  );
  const store = await BanStore.open(dir);
  assert.equal(store.loadReport.corruptRecords, 2);
  assert.equal(store.loadReport.tornTailBytes, 0);
  assert.deepEqual([...store.all()], [MIXED[0], MIXED[2], MIXED[3]]);
  await store.close();
  const reopened = await BanStore.open(dir);
  assert.deepEqual(damage(reopened), NONE, 'the damage was compacted away at the first open');
  await reopened.close();
});

test('a journal of zero bytes (a torn first write) is truncated, not rejected', async () => {
  const dir = await scratch();
  await writeFile(join(dir, JOURNAL), Buffer.alloc(4096));
  const store = await BanStore.open(dir);
  assert.equal(store.loadReport.tornTailBytes, 4096);
  assert.deepEqual(store.loadReport.rejectedFiles, []);
  assert.equal((await stat(join(dir, JOURNAL))).size, 0);
  await store.close();
});

test('files that are not ours are moved aside, kept, reported', async () => {
  const { dir } = await journalOnly();
  const foreign = 'This is not a ban snapshot.\nIt has lines.\n';
  await writeFile(join(dir, SNAPSHOT), foreign);
  await writeFile(join(dir, `${SNAPSHOT}.tmp`), 'half a compaction');
  const store = await BanStore.open(dir);
  assert.equal(store.loadReport.rejectedFiles.length, 1);
  assert.equal(await readFile(store.loadReport.rejectedFiles[0] as string, 'utf8'), foreign);
  assert.deepEqual([...store.all()], MIXED, 'the journal still loads');
  await store.close();

  const other = await scratch();
  await writeFile(join(other, SNAPSHOT), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0])); // no newline at all
  await writeFile(join(other, JOURNAL), '{"address":"192.0.2.1"}\n{"address":"192.0.2.2"}\n');
  const second = await BanStore.open(other);
  assert.equal(second.loadReport.rejectedFiles.length, 2);
  assert.equal(second.size, 0);
  await second.add(ban('192.0.2.3'));
  await second.close();
  const reopened = await BanStore.open(other);
  assert.deepEqual(damage(reopened), NONE);
  assert.equal(reopened.size, 1);
  await reopened.close();
});

test('a damaged or cut snapshot: the rest loads, the shortfall is reported', async () => {
  const dir = await scratch();
  const store = await BanStore.open(dir);
  await store.addMany(MIXED);
  await store.close();
  const records = await lines(join(dir, SNAPSHOT));

  const flipped = await crashCopy(dir);
  const bytes = await readFile(join(flipped, SNAPSHOT));
  const at = bytes.indexOf('192.0.2.1') + 2;
  bytes[at] = (bytes[at] as number) ^ 0x01;
  await writeFile(join(flipped, SNAPSHOT), bytes);
  const a = await BanStore.open(flipped);
  assert.equal(a.loadReport.corruptRecords, 1);
  assert.equal(a.loadReport.snapshotShortfall, 1);
  assert.deepEqual([...a.all()], MIXED.slice(1));

  const cut = await crashCopy(dir);
  await writeFile(join(cut, SNAPSHOT), `${records.slice(0, 3).join('\n')}\n`, 'latin1'); // at a line boundary
  const b = await BanStore.open(cut);
  assert.equal(b.loadReport.corruptRecords, 0);
  assert.equal(b.loadReport.snapshotShortfall, 2);
  assert.equal(b.size, 2);
  await Promise.all([a.close(), b.close()]);
});

test('fuzz: damaged journals never throw, and every loaded ban is one that was written', async () => {
  let seed = 0x5eed;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const written: Ban[] = [];
  const dir = await scratch();
  const store = await BanStore.open(dir);
  for (let i = 0; i < 60; i++) {
    const b = ban(i % 2 ? `192.0.2.${i % 16}` : `2001:db8::${(i % 16) + 1}`, { since: i, ports: [i] });
    if (i % 7 === 6) {
      await store.remove(b.address);
    } else {
      written.push(b);
      await store.add(b);
    }
  }
  const original = await readFile(join(dir, JOURNAL));
  await store.close();
  for (let round = 0; round < 150; round++) {
    const damaged = Buffer.from(original);
    for (let k = 1 + Math.floor(random() * 4); k > 0; k--) {
      const at = Math.floor(random() * damaged.length);
      damaged[at] = random() < 0.2 ? 10 : Math.floor(random() * 256);
    }
    const cutAt = random() < 0.5 ? Math.floor(random() * damaged.length) : damaged.length;
    const target = await scratch();
    await writeFile(join(target, JOURNAL), damaged.subarray(0, cutAt));
    const loaded = await BanStore.open(target);
    for (const b of loaded.all()) {
      assert.ok(
        written.some((w) => JSON.stringify(w) === JSON.stringify(b)),
        `round ${round}: ${JSON.stringify(b)} was never written`,
      );
    }
    await loaded.close();
    await rm(target, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Crashes for real: a writer process killed with SIGKILL at random moments.

/** What the writers acknowledged, across all their lives. */
class Ledger {
  readonly present = new Set<string>();
  readonly absent = new Set<string>();
  next = 1;

  read(output: string): number {
    let acknowledged = 0;
    for (const line of output.slice(0, output.lastIndexOf('\n')).split('\n').slice(1)) {
      const address = line.slice(1).split(' ').at(-1) as string;
      if (line.startsWith('+')) {
        this.present.add(address);
        this.next = Math.max(this.next, Number(line.slice(1).split(' ')[0]) + 1);
        acknowledged++;
      } else if (line.startsWith('?')) {
        this.present.delete(address); // in flight when killed: either outcome is right
      } else if (line.startsWith('-')) {
        this.absent.add(address);
      }
    }
    return acknowledged;
  }

  check(store: BanStore, label: string): void {
    const all = [...store.all()].map((b) => b.address);
    assert.equal(new Set(all).size, all.length, `${label}: an address appears twice`);
    assert.equal(all.length, store.size);
    const lost = [...this.present].filter((a) => !store.has(a));
    assert.deepEqual(lost.slice(0, 5), [], `${label}: ${lost.length} acknowledged bans lost`);
    const back = [...this.absent].filter((a) => store.has(a));
    assert.deepEqual(back.slice(0, 5), [], `${label}: ${back.length} acknowledged removals undone`);
  }
}

/** Runs the writer until it is ready, lets it write for `ms`, kills it; returns its stdout. */
async function writeThenKill(dir: string, first: number, ms: number, args: string[]): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(first), ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const closed = once(child, 'close');
  let output = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      if (output.startsWith('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`writer exited (${code}) before it was ready`)));
  });
  await delay(ms);
  child.kill('SIGKILL');
  await closed;
  return output;
}

async function crashRounds(
  dir: string,
  ledger: Ledger,
  rounds: number,
  args: string[],
): Promise<{ acknowledged: number; tornTails: number; midCompaction: number }> {
  const totals = { acknowledged: 0, tornTails: 0, midCompaction: 0 };
  for (let round = 1; round <= rounds; round++) {
    const ms = 20 + Math.floor(Math.random() * 281);
    const label = `round ${round} (killed after ${ms} ms)`;
    totals.acknowledged += ledger.read(await writeThenKill(dir, ledger.next, ms, args));
    if ((await readdir(dir)).includes(`${SNAPSHOT}.tmp`)) totals.midCompaction++;
    // Check a copy, so the next writer recovers from exactly what the crash left.
    const store = await BanStore.open(await crashCopy(dir));
    if (store.loadReport.tornTailBytes > 0) totals.tornTails++; // a kill mid-write: allowed
    assert.deepEqual({ ...damage(store), tornTailBytes: 0 }, NONE, label);
    ledger.check(store, label);
    await store.close();
  }
  return totals;
}

async function finalCheck(dir: string, ledger: Ledger): Promise<void> {
  const store = await BanStore.open(dir);
  ledger.check(store, 'after all rounds');
  const size = store.size;
  await store.close();
  const reopened = await BanStore.open(dir);
  assert.deepEqual(damage(reopened), NONE);
  ledger.check(reopened, 'after compaction');
  assert.equal(reopened.size, size);
  const snapshot = await lines(join(dir, SNAPSHOT));
  assert.equal(snapshot.length, size + 1, 'one snapshot line per ban, plus the header');
  await reopened.close();
}

test('SIGKILL at random moments: every acknowledged write survives, exactly once', async () => {
  const dir = await scratch();
  const ledger = new Ledger();
  const totals = await crashRounds(dir, ledger, 20, ['--concurrency', '4']);
  console.log(`# 20 kills: ${totals.acknowledged} acknowledged writes, ${totals.tornTails} torn tails seen`);
  assert.ok(totals.acknowledged > 100, 'the writer got to write');
  await finalCheck(dir, ledger);
});

test('SIGKILL during compactions: nothing lost, old bans included', async () => {
  const dir = await scratch();
  const ledger = new Ledger();
  const preload = Array.from({ length: 20_000 }, (_, i) => ban(`172.16.${i >> 8}.${i & 255}`));
  const store = await BanStore.open(dir);
  await store.addMany(preload);
  await store.close();
  for (const b of preload) ledger.present.add(b.address);
  const args = ['--batch', '5', '--concurrency', '2', '--compact-every', '25'];
  const totals = await crashRounds(dir, ledger, 10, args);
  console.log(
    `# 10 kills: ${totals.acknowledged} acknowledged writes, ${totals.midCompaction} mid-compaction`,
  );
  assert.ok(totals.midCompaction > 0, 'at least one kill landed inside a compaction');
  await finalCheck(dir, ledger);
});

// ---------------------------------------------------------------------------------------------
// Scale.

/** Opens a store in a fresh process and reports its size, load time, memory growth and a sample. */
const MEASURE_LOAD = `
  import { BanStore } from ${JSON.stringify(STORE_MODULE)};
  const [dir, ...sample] = process.argv.slice(1);
  const before = process.memoryUsage();
  const store = await BanStore.open(dir);
  const after = process.memoryUsage();
  process.stdout.write(JSON.stringify({
    size: store.size,
    report: { ...store.loadReport, expired: store.loadReport.expired.length },
    rssMB: (after.rss - before.rss) / 2 ** 20,
    heapMB: (after.heapUsed - before.heapUsed) / 2 ** 20,
    sample: sample.map((address) => store.get(address) ?? null),
  }));
`;

async function measureLoad(dir: string, sample: string[]) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', MEASURE_LOAD, dir, ...sample],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0);
  return JSON.parse(output) as {
    size: number;
    report: { loadMs: number; recordsRead: number; corruptRecords: number };
    rssMB: number;
    heapMB: number;
    sample: (Ban | null)[];
  };
}

test('a million bans: written in batches, restored from the journal and from the snapshot', async () => {
  const N = 1_000_000;
  const address = (i: number) =>
    i % 4 === 0
      ? `2001:db8::1:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}`
      : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const banOf = (i: number) =>
    ban(address(i), {
      since: 1_700_000_000_000 + i,
      expires: i % 2 ? null : 4_000_000_000_000,
      ports: [i % 65536],
    });
  const dir = await scratch();
  const store = await BanStore.open(dir, { compactEvery: 2 * N });
  let started = performance.now();
  for (let from = 0; from < N; from += 50_000) {
    await store.addMany(Array.from({ length: 50_000 }, (_, k) => banOf(from + k)));
  }
  const fillMs = performance.now() - started;
  const journalCopy = await crashCopy(dir);
  started = performance.now();
  await store.close();
  const compactMs = performance.now() - started;

  const sampleIndexes = [0, 1, 2, 3, 499_999, 777_777, N - 1];
  const sample = sampleIndexes.map(address);
  for (const [source, from] of [
    ['journal', journalCopy],
    ['snapshot', dir],
  ] as const) {
    const loaded = await measureLoad(from, sample);
    assert.equal(loaded.size, N);
    assert.equal(loaded.report.corruptRecords, 0);
    assert.deepEqual(loaded.sample, sampleIndexes.map(banOf));
    console.log(
      `# 1,000,000 bans from the ${source}: load ${Math.round(loaded.report.loadMs)} ms, ` +
        `RSS +${Math.round(loaded.rssMB)} MiB, heap +${Math.round(loaded.heapMB)} MiB`,
    );
  }
  const size = (await stat(join(dir, SNAPSHOT))).size;
  console.log(
    `# fill (20 x addMany of 50,000) ${Math.round(fillMs)} ms, compaction ${Math.round(compactMs)} ms, snapshot ${Math.round(size / 2 ** 20)} MiB`,
  );
});
