/**
 * @module state/ban-store
 * The one store of bans (who, since when, until when, why, enforced where). It survives restarts
 * and crashes. It owns the directory it is opened on (created 0700) and two files in it:
 *
 * - `bans.journal`: append-only, one record per add or remove since the last compaction.
 * - `bans.snapshot`: every ban as of the last compaction, after a header record (format, count).
 *
 * Both hold checksummed text records, one per line; state/ban-records describes the format.
 *
 * Why it is crash-safe:
 * - add/addMany/remove resolve only after their records are written and fsync'd, and only then do
 *   they change what get()/has()/all() see. Concurrent calls share one write and one fsync. If a
 *   write fails, the journal is cut back to its last good record and the callers get the error.
 * - Every record states the whole truth about its address (last writer wins), so replaying a record
 *   twice changes nothing. A crash between a compaction's rename and its truncation of the journal
 *   replays records the new snapshot already holds, with the same result.
 * - A crash mid-write leaves at most a torn tail: the bytes after the journal's last good record.
 *   On open they are ignored and the journal is truncated back to that record, so the next append
 *   follows good data. A damaged record with good ones after it is not a crash (bad media, a stray
 *   edit): it is skipped and counted, the good ones still load, and the files are rewritten once.
 *   Nothing in a file makes open() throw; only I/O errors (permissions, a full disk) do.
 * - Compaction writes `bans.snapshot.tmp`, fsyncs it, renames it over `bans.snapshot` and fsyncs
 *   the directory. Only then does it truncate the journal. On open, a leftover temp file is deleted.
 *   Writes queue behind a compaction, so the snapshot is the exact state of one moment.
 * - A file in which no record checks out is not ours. It is renamed aside (`NAME.rejected-TIME`)
 *   and reported, and the store goes on without it. A journal holding only a fragment without a
 *   newline is a torn first write and is truncated.
 * - Records are trusted once their checksum checks out: the directory is root's. Loaded addresses
 *   are still checked for address characters before they can reach a command line.
 * - One writer per directory: a second open() in the same process is refused, and `bans.lock`
 *   (state/dir-lock) refuses a second process while the first runs.
 *
 * Memory: one Map entry per ban, holding a frozen Ban. Mode, scan type and backend lists are shared
 * between bans. There is no second index. expired() keeps only a lower bound of the earliest expiry,
 * so it costs nothing until something can have expired, and then one pass.
 */
import { mkdir, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { canonicalAddress } from '../net/address.ts';
import { nonUnicastReason } from '../net/unicast.ts';
import { acquireDirLock } from './dir-lock.ts';
import { asError, ErrorCodes, PortsnareError, describeError } from '../errors.ts';
import { FORMAT_VERSION, MAX_PAYLOAD, RecordEncoder } from './ban-records.ts';
import { BanFiles, ignoreMissing, writeFully, writeSnapshot } from './ban-files.ts';
import {
  emptyLoadReport,
  loadJournal,
  loadSnapshot,
  snapshotLoss,
  type LoadReport,
} from './ban-store-load.ts';
import { PayloadParser, addPayload, banProblem, removePayload } from './ban-payload.ts';
import { makeBan, type Ban, type NewBan } from './ban.ts';

export type { Ban, BanOrigin, BanState, BackendName, NewBan } from './ban.ts';
export type { LoadReport } from './ban-store-load.ts';
export { snapshotLoss };

export interface BanStoreOptions {
  /** Clock for expiry (open() and expired() without an argument); default Date.now. */
  now?: () => number;
  /** Compact after this many journal records; default 100,000. */
  compactEvery?: number;
  /**
   * Default true: bans whose time passed while nobody ran are removed (durably) at open and listed
   * in loadReport.expired. False: they stay stored (and listed), for a caller that lifts them from
   * their backends first and removes them afterwards, so a crash in between loses no undo.
   */
  dropExpired?: boolean;
}

const DEFAULT_COMPACT_EVERY = 100_000;

type Commit = () => void;
interface WriteJob {
  kind: 'write';
  data: Buffer;
  records: number;
  commit: Commit;
  fail: (err: unknown) => void;
}
interface TaskJob {
  kind: 'task';
  run: () => Promise<void>;
}
type Job = WriteJob | TaskJob;

export class BanStore {
  /** Directories with an open store in this process. */
  static readonly #openDirs = new Set<string>();
  readonly loadReport: LoadReport;
  /** The last background compaction's failure (the journal still holds everything); null once one succeeds. */
  lastCompactionError: Error | null = null;

  readonly #dir: string;
  readonly #compactEvery: number;
  readonly #now: () => number;
  /** Journal records at which the next background compaction starts. */
  #compactAt: number;
  readonly #bans = new Map<string, Ban>();
  readonly #parser = new PayloadParser();
  readonly #encoder = new RecordEncoder();
  #journal: FileHandle | null = null;
  #journalSize = 0;
  #journalRecords = 0;
  /** A lower bound of the earliest expiry among the bans (Infinity: none expires). */
  #earliestExpiry = Infinity;
  readonly #jobs: Job[] = [];
  #draining = false;
  #compactionQueued = false;
  #closed: Promise<void> | null = null;
  #unlock: (() => Promise<void>) | null = null;

  private constructor(dir: string, compactEvery: number, now: () => number, report: LoadReport) {
    this.#dir = dir;
    this.#compactEvery = compactEvery;
    this.#compactAt = compactEvery;
    this.#now = now;
    this.loadReport = report;
  }

  static async open(dir: string, opts: BanStoreOptions = {}): Promise<BanStore> {
    const started = performance.now();
    const now = opts.now ?? Date.now;
    const compactEvery = opts.compactEvery ?? DEFAULT_COMPACT_EVERY;
    if (!Number.isSafeInteger(compactEvery) || compactEvery < 1) {
      throw new RangeError(`compactEvery must be a positive integer, not ${compactEvery}`);
    }
    const report = emptyLoadReport();
    const key = resolve(dir);
    if (BanStore.#openDirs.has(key)) {
      throw new PortsnareError(ErrorCodes.FILE, `ban store ${dir}: already open in this process`);
    }
    BanStore.#openDirs.add(key);
    const store = new BanStore(dir, compactEvery, now, report);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      store.#unlock = await acquireDirLock(join(dir, BanFiles.lock));
      await unlink(join(dir, BanFiles.snapshotTemp)).catch(ignoreMissing);
      const apply = (buf: Buffer, start: number, end: number) => store.#apply(buf, start, end);
      await loadSnapshot(dir, report, apply, () => store.#bans.clear());
      const journal = await loadJournal(dir, report, apply, (handle) => (store.#journal = handle));
      store.#journalSize = journal.size;
      store.#journalRecords = journal.records;
      report.recordsRead = report.snapshotBans + report.journalRecords;
      report.expired = store.expired(now());
      if (report.expired.length > 0 && opts.dropExpired !== false) {
        await store.#write(
          report.expired.map((ban) => removePayload(ban.address)),
          () => {
            for (const ban of report.expired) store.#bans.delete(ban.address);
          },
        );
      }
      // Rewrite damaged files once, so the damage is reported once and not carried forever; and a
      // version-1 store as version 2 (see the upgrade note in state/ban-records).
      const damaged =
        report.corruptRecords > 0 ||
        report.snapshotShortfall > 0 ||
        report.rejectedFiles.length > 0 ||
        report.badAddresses > 0 ||
        report.snapshotState === 'empty';
      if (damaged || report.upgradedRecords > 0) await store.#task(() => store.#backgroundCompaction());
    } catch (err) {
      BanStore.#openDirs.delete(key);
      await store.#journal?.close().catch(() => undefined);
      await store.#unlock?.();
      throw new PortsnareError(ErrorCodes.FILE, `ban store ${dir}: ${describeError(err)}`, { cause: err });
    }
    report.loadMs = performance.now() - started;
    return store;
  }

  get size(): number {
    return this.#bans.size;
  }

  get(address: string): Ban | undefined {
    return this.#bans.get(address);
  }

  has(address: string): boolean {
    return this.#bans.has(address);
  }

  /** Every ban, as frozen objects owned by the store. */
  all(): IterableIterator<Ban> {
    return this.#bans.values();
  }

  /**
   * Resolves once the ban is durable; an address already present is replaced. State, origin and
   * evidence left out default by mode (state/ban's banDefaults).
   */
  add(ban: NewBan): Promise<void> {
    return this.addMany([ban]);
  }

  /** Adds every ban with one write and one fsync; rejects the whole batch if one ban is invalid. */
  addMany(bans: readonly NewBan[]): Promise<void> {
    const stored: Ban[] = [];
    const payloads: string[] = [];
    try {
      for (const ban of bans) {
        const own = this.#own(ban);
        const payload = addPayload(own);
        if (Buffer.byteLength(payload) > MAX_PAYLOAD) {
          throw new RangeError(`ban for ${own.address}: record longer than ${MAX_PAYLOAD} bytes`);
        }
        stored.push(own);
        payloads.push(payload);
      }
    } catch (err) {
      return Promise.reject(asError(err, ErrorCodes.FILE));
    }
    if (stored.length === 0) return Promise.resolve();
    return this.#write(payloads, () => {
      for (const ban of stored) this.#set(ban);
    });
  }

  /** Resolves to whether the address was banned, once its removal is durable. */
  remove(address: string): Promise<boolean> {
    // Only canonical addresses are ever stored: anything else was never banned and is not journaled.
    if (typeof address !== 'string' || canonicalAddress(address) !== address) return Promise.resolve(false);
    let removed = false;
    return this.#write([removePayload(address)], () => {
      removed = this.#bans.delete(address);
    }).then(() => removed);
  }

  /** Bans whose time has passed (still stored: lift them from the backends, then remove them). */
  expired(now: number = this.#now()): Ban[] {
    if (now < this.#earliestExpiry) return [];
    const out: Ban[] = [];
    let earliest = Infinity;
    for (const ban of this.#bans.values()) {
      if (ban.expires === null) continue;
      if (ban.expires <= now) out.push(ban);
      if (ban.expires < earliest) earliest = ban.expires;
    }
    this.#earliestExpiry = earliest;
    return out;
  }

  /** Writes a fresh snapshot atomically, then truncates the journal. Writes wait meanwhile. */
  compact(): Promise<void> {
    return this.#task(() => this.#compactNow());
  }

  /** Waits for pending writes, compacts if the journal holds anything, closes. Later writes reject. */
  close(): Promise<void> {
    this.#closed ??= this.#task(async () => {
      const journal = this.#journalHandle();
      try {
        if (this.#journalRecords > 0) await this.#compactNow();
      } finally {
        this.#journal = null;
        BanStore.#openDirs.delete(resolve(this.#dir));
        await journal.close();
        await this.#unlock?.();
      }
    });
    return this.#closed;
  }

  // --- validation and memory ---------------------------------------------------------------------

  /** A validated, frozen copy of `ban` whose strings and lists are shared with other bans. */
  #own(given: NewBan): Ban {
    if (typeof given.address !== 'string' || canonicalAddress(given.address) !== given.address) {
      throw new PortsnareError(ErrorCodes.INVALID_ADDRESS, `not a canonical IP address: "${given.address}"`);
    }
    const { address, since, expires, ports, scanType, mode, backends } = given;
    const ban = makeBan(address, since, expires, ports, scanType, mode, backends, given);
    const problem = banProblem(ban);
    if (problem !== null) throw new TypeError(`ban for ${ban.address}: ${problem}`);
    const strings = this.#parser.strings;
    return makeBan(
      ban.address,
      ban.since,
      ban.expires,
      Object.freeze([...ban.ports]) as number[],
      strings.fromString(ban.scanType),
      strings.fromString(ban.mode),
      this.#parser.lists.fromString(ban.backends.join(',')).backends,
      { state: ban.state, origin: strings.fromString(ban.origin) as Ban['origin'], evidence: ban.evidence },
    );
  }

  #set(ban: Ban): void {
    this.#bans.set(ban.address, ban);
    if (ban.expires !== null && ban.expires < this.#earliestExpiry) this.#earliestExpiry = ban.expires;
  }

  // --- the write queue: one job at a time, consecutive writes merged ------------------------------

  #write(payloads: string[], commit: Commit): Promise<void> {
    if (this.#closed)
      return Promise.reject(new PortsnareError(ErrorCodes.STORE_CLOSED, 'ban store is closed'));
    for (const payload of payloads) this.#encoder.push(payload);
    const data = this.#encoder.take();
    return new Promise((resolve, reject) => {
      this.#jobs.push({
        kind: 'write',
        data,
        records: payloads.length,
        commit: () => {
          commit();
          resolve();
        },
        fail: reject,
      });
      this.#kick();
    });
  }

  #task(run: () => Promise<void>): Promise<void> {
    if (this.#closed)
      return Promise.reject(new PortsnareError(ErrorCodes.STORE_CLOSED, 'ban store is closed'));
    return new Promise((resolve, reject) => {
      this.#jobs.push({ kind: 'task', run: () => run().then(resolve, reject) });
      this.#kick();
    });
  }

  #kick(): void {
    if (!this.#draining) void this.#drain();
  }

  /** Runs the jobs in order. Never rejects: every failure goes to its job's caller. */
  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      for (let job = this.#jobs.shift(); job !== undefined; job = this.#jobs.shift()) {
        if (job.kind === 'task') {
          await job.run();
          continue;
        }
        let writes = 0;
        while (this.#jobs[writes]?.kind === 'write') writes++;
        const batch = [job, ...(this.#jobs.splice(0, writes) as WriteJob[])];
        try {
          await this.#append(Buffer.concat(batch.map((j) => j.data)));
        } catch (err) {
          for (const j of batch) j.fail(err);
          continue;
        }
        this.#journalRecords += batch.reduce((n, j) => n + j.records, 0);
        for (const j of batch) j.commit();
        if (this.#journalRecords >= this.#compactAt && !this.#compactionQueued && !this.#closed) {
          this.#compactionQueued = true;
          this.#jobs.push({ kind: 'task', run: () => this.#backgroundCompaction() });
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /** A compaction nobody waits for: a failure is kept, and retried after another compactEvery records. */
  async #backgroundCompaction(): Promise<void> {
    this.#compactionQueued = false;
    try {
      await this.#compactNow();
    } catch (err) {
      this.lastCompactionError = asError(err, ErrorCodes.FILE);
      this.#compactAt = this.#journalRecords + this.#compactEvery;
    }
  }

  /** Appends at the end of the last good record and fsyncs; on failure cuts the file back to it. */
  async #append(data: Buffer): Promise<void> {
    const journal = this.#journalHandle();
    try {
      await writeFully(journal, data, this.#journalSize);
      await journal.sync();
    } catch (err) {
      // Best effort: if this fails too, the next open finds a torn tail and drops it.
      await journal.truncate(this.#journalSize).catch(() => undefined);
      throw err;
    }
    this.#journalSize += data.length;
  }

  #journalHandle(): FileHandle {
    if (this.#journal === null) throw new PortsnareError(ErrorCodes.STORE_CLOSED, 'ban store is closed');
    return this.#journal;
  }

  // --- compaction ---------------------------------------------------------------------------------

  async #compactNow(): Promise<void> {
    const journal = this.#journalHandle();
    await writeSnapshot(this.#dir, this.#bans.size, this.#bans.values());
    // The new snapshot is durable: the journal's records are all in it.
    await journal.truncate(0);
    await journal.sync();
    this.#journalSize = 0;
    this.#journalRecords = 0;
    this.#compactAt = this.#compactEvery;
    this.lastCompactionError = null;
  }

  /** Applies one checked record (bytes [start, end) of buf); false if it is not a record we write. */
  #apply(buf: Buffer, start: number, end: number): boolean {
    const parsed = this.#parser.parse(buf, start, end);
    if (parsed === null) return false;
    if (parsed.kind === 'remove') {
      if (!this.#bans.delete(parsed.address) && this.#journal !== null) this.loadReport.unknownRemoves++;
      return true;
    }
    if (!isStorableAddress(parsed.ban.address)) {
      // Checksummed, so ours in form, but no backend may get it: skipped and counted, and the
      // rewrite after open drops it (this.#bans never held it).
      this.loadReport.badAddresses++;
      return true;
    }
    if (parsed.version !== FORMAT_VERSION) this.loadReport.upgradedRecords++;
    this.#set(parsed.ban);
    return true;
  }
}

/**
 * Whether a loaded record's address may become a ban: the canonical form (the only one ever stored)
 * of an address that can be a real peer. Link-local is allowed here (a setting may allow it; the
 * restore's never-block checks decide); the own subnets are not the store's to know.
 */
function isStorableAddress(address: string): boolean {
  return (
    canonicalAddress(address) === address && nonUnicastReason(address, { allowLinkLocal: true }) === null
  );
}
