/**
 * @module state/ban-store-load
 * Loading a ban store's directory at open: the snapshot, then the journal, each record handed to
 * the store, and what could not be used reported (LoadReport). A foreign file is moved aside, a torn
 * journal tail truncated. What a record means is the store's `apply`; writing is state/ban-store's.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { systemErrorCode } from '../errors.ts';
import type { Ban } from './ban.ts';
import { BanFiles, renameAside, syncDir } from './ban-files.ts';
import {
  FORMAT_VERSION,
  READABLE_VERSIONS,
  parseHeader,
  scanRecords,
  type ScanResult,
} from './ban-records.ts';

/** What open() found. The store keeps loading whatever it finds; this says what it could not use. */
export interface LoadReport {
  /** Good records read: bans from the snapshot plus journal records. */
  recordsRead: number;
  snapshotBans: number;
  journalRecords: number;
  /** Damaged records skipped (complete lines that failed their length or checksum, in either file). */
  corruptRecords: number;
  /** Bytes after the journal's last good record (a crash mid-write), truncated away; plus any such
   *  bytes at the end of the snapshot, which is left as it is. */
  tornTailBytes: number;
  /** Bans the snapshot's header announced that were not found in it (0 when it is intact). */
  snapshotShortfall: number;
  /**
   * Checksummed add records whose address is not a canonical unicast address (`010.1.1.1`,
   * `224.0.0.1`): skipped, never handed to a backend (one such address made a whole nft batch fail).
   */
  badAddresses: number;
  /** What open() found of the snapshot: none, an empty (0-byte) file, one it read, or one not ours. */
  snapshotState: 'missing' | 'empty' | 'read' | 'rejected';
  /** The snapshot header's ban count (-1: no header read). */
  snapshotAnnounced: number;
  /** Journal removes of addresses the store did not hold: bans the snapshot should have held. */
  unknownRemoves: number;
  /** Files that were not ours, and the names they were moved to. */
  rejectedFiles: string[];
  /**
   * Records read in the version-1 format (adds, and the snapshot's header; removes are the same in both). Any makes
   * open() rewrite the store as version 2 (a compaction) before it returns.
   */
  upgradedRecords: number;
  /** Bans whose time had passed at open: dropped durably unless `dropExpired: false`. */
  expired: Ban[];
  /** Wall time of open(), ms. */
  loadMs: number;
}

export function emptyLoadReport(): LoadReport {
  return {
    recordsRead: 0,
    snapshotBans: 0,
    journalRecords: 0,
    corruptRecords: 0,
    tornTailBytes: 0,
    snapshotShortfall: 0,
    badAddresses: 0,
    snapshotState: 'missing',
    snapshotAnnounced: -1,
    unknownRemoves: 0,
    rejectedFiles: [],
    upgradedRecords: 0,
    expired: [],
    loadMs: 0,
  };
}

/** Applies one checked record (bytes [start, end) of buf); false if it is not a record we write. */
export type ApplyRecord = (buf: Buffer, start: number, end: number) => boolean;

/** Loads the snapshot, if any; `clear` forgets what it applied when the file turns out not ours. */
export async function loadSnapshot(
  dir: string,
  report: LoadReport,
  apply: ApplyRecord,
  clear: () => void,
): Promise<void> {
  const path = join(dir, BanFiles.snapshot);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (systemErrorCode(err) === 'ENOENT') return;
    throw err;
  }
  let announced = -1;
  let foreign = false;
  const badBefore = report.badAddresses;
  let first = true;
  let scan: ScanResult;
  try {
    scan = await scanRecords(handle, (buf, start, end) => {
      if (first) {
        first = false;
        const header = parseHeader(buf, start, end);
        if (header !== null) {
          foreign = !READABLE_VERSIONS.includes(header.version);
          if (header.version !== FORMAT_VERSION && !foreign) report.upgradedRecords++;
          announced = header.count;
          return !foreign;
        }
      }
      if (foreign) return false;
      return apply(buf, start, end);
    });
  } finally {
    await handle.close();
  }
  if (foreign || (scan.good === 0 && scan.size > 0)) {
    // A snapshot is renamed into place whole, so this is not a torn write: not ours. Keep it aside.
    clear();
    report.badAddresses = badBefore;
    report.snapshotState = 'rejected';
    report.rejectedFiles.push(await renameAside(path));
    return;
  }
  const bad = report.badAddresses - badBefore;
  const bans = scan.good - (announced >= 0 ? 1 : 0) - bad;
  report.snapshotState = scan.size === 0 ? 'empty' : 'read';
  report.snapshotAnnounced = announced;
  report.snapshotBans = bans;
  report.corruptRecords += scan.corrupt;
  report.tornTailBytes += scan.size - scan.goodEnd;
  if (announced >= 0) report.snapshotShortfall = Math.max(0, announced - bans - bad);
}

/**
 * Why bans were lost with the snapshot, or null: an empty snapshot file (the store never writes one:
 * every snapshot has a header), one that could not be read at all, a header announcing bans of which
 * none was found, or a missing snapshot while the journal removes bans nobody held. Each is worse
 * than a damaged record: every ban the snapshot held is gone, and nothing else would say so.
 */
export function snapshotLoss(report: LoadReport): string | null {
  const removes =
    report.unknownRemoves > 0
      ? `; the journal removes ${report.unknownRemoves} ban(s) that were not loaded`
      : '';
  switch (report.snapshotState) {
    case 'empty':
      return `${BanFiles.snapshot} is empty (0 bytes), though every snapshot written has a header: the bans it held are lost${removes}`;
    case 'rejected':
      return `${BanFiles.snapshot} could not be read (no record checks out): the bans it held are lost${removes}`;
    case 'read':
      return report.snapshotAnnounced > 0 && report.snapshotBans + report.badAddresses === 0
        ? `${BanFiles.snapshot} announces ${report.snapshotAnnounced} ban(s) and holds none: they are lost${removes}`
        : null;
    case 'missing':
      return report.unknownRemoves > 0
        ? `${BanFiles.snapshot} is missing, but the journal removes ${report.unknownRemoves} ban(s) that were not loaded: the bans it held are lost`
        : null;
  }
}

/**
 * Loads the journal (creating it if missing) and leaves it open for appends: `opened` gets each
 * handle as soon as it is open, so the caller can close it if a later step fails. Resolves to the
 * offset after its last good record and the records it holds.
 */
export async function loadJournal(
  dir: string,
  report: LoadReport,
  apply: ApplyRecord,
  opened: (handle: FileHandle) => void,
): Promise<{ size: number; records: number }> {
  const path = join(dir, BanFiles.journal);
  const journal = await openJournal(dir, path, opened);
  const scan = await scanRecords(journal, apply);
  if (scan.good === 0 && scan.lines > 0) {
    // Not one whole line checks out: not ours (a torn first write has no whole line). Keep it
    // aside and start a new journal.
    await journal.close();
    report.rejectedFiles.push(await renameAside(path));
    await openJournal(dir, path, opened);
    return { size: 0, records: 0 };
  }
  if (scan.goodEnd < scan.size) {
    await journal.truncate(scan.goodEnd);
    await journal.sync();
  }
  report.journalRecords = scan.good;
  report.corruptRecords += scan.corrupt;
  report.tornTailBytes += scan.size - scan.goodEnd;
  return { size: scan.goodEnd, records: scan.good + scan.corrupt };
}

async function openJournal(
  dir: string,
  path: string,
  opened: (handle: FileHandle) => void,
): Promise<FileHandle> {
  let created = false;
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDWR);
  } catch (err) {
    if (systemErrorCode(err) !== 'ENOENT') throw err;
    handle = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    created = true;
  }
  opened(handle);
  if (created) await syncDir(dir); // the new name must survive a crash too
  return handle;
}
