/**
 * @module state/ban-files
 * The files in a ban store's directory and how each is written durably: their names, writes that
 * finish, directory fsyncs, moving a foreign file aside, and the snapshot written whole (temp file,
 * fsync, rename, directory fsync). What the records mean is state/ban-payload's; when to write them
 * is state/ban-store's.
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { systemErrorCode } from '../errors.ts';
import type { Ban } from './ban.ts';
import { addPayload } from './ban-payload.ts';
import { FORMAT_VERSION, MAGIC, RecordEncoder, WRITE_CHUNK } from './ban-records.ts';

/** File names inside the ban store's directory (STATE_DIR/bans). */
export const BanFiles = {
  /** Append-only, one record per add or remove since the last compaction. */
  journal: 'bans.journal',
  /** Every ban as of the last compaction, after a header record. */
  snapshot: 'bans.snapshot',
  /** A compaction in progress; deleted at open. */
  snapshotTemp: 'bans.snapshot.tmp',
  /** The pid of the process that has the store open (state/dir-lock). */
  lock: 'bans.lock',
} as const;

export async function writeFully(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames a file that is not ours to `NAME.rejected-TIME`; resolves to the new name. */
export async function renameAside(path: string): Promise<string> {
  const aside = `${path}.rejected-${Date.now()}`;
  await rename(path, aside);
  return aside;
}

export function ignoreMissing(err: unknown): void {
  if (systemErrorCode(err) !== 'ENOENT') throw err;
}

/**
 * Writes `bans` (`count` of them) as the new snapshot: header and records to the temp file, fsync,
 * rename over the snapshot, fsync the directory. Resolves once the new snapshot is durable; on a
 * failure before the rename the old snapshot is untouched and the temp file removed.
 */
export async function writeSnapshot(dir: string, count: number, bans: Iterable<Ban>): Promise<void> {
  const temp = join(dir, BanFiles.snapshotTemp);
  const out = await open(temp, 'w', 0o600);
  try {
    const encoder = new RecordEncoder();
    encoder.push(`S\t${MAGIC}\t${FORMAT_VERSION}\t${count}`);
    for (const ban of bans) {
      encoder.push(addPayload(ban));
      if (encoder.size >= WRITE_CHUNK) await out.write(encoder.take());
    }
    await out.write(encoder.take());
    await out.sync();
  } catch (err) {
    await out.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await out.close();
  await rename(temp, join(dir, BanFiles.snapshot));
  await syncDir(dir);
}
