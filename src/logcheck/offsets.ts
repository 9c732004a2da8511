/**
 * @module logcheck/offsets
 * The offset files of logtail2 (`STATE/offset.var.log.syslog`: `<inode>\n<byte offset>\n`), read and
 * written so an installation can switch between logcheck and portsnare in either direction without
 * losing or repeating a line; and portsnare's own record beside each (`STATE/portsnare-offset...`,
 * JSON) with what logtail2 cannot see: the device, the size at the last read and a hash of the
 * file's first line (fail2ban's idea: a tailed file is identified by inode, size and first line), so
 * copytruncate and a reused inode number are recognised, plus the journal cursor.
 *
 * Why a prefix and not a suffix for the record: every offset file is named `offset.` + a path, so a
 * record named `portsnare-offset...` can never be taken for the offset file of another log (with a
 * suffix, the log `/var/log/syslog.portsnare` would own the record of `/var/log/syslog`).
 * Both files are replaced atomically (temp file in the same directory, fsync, rename, directory
 * fsync), mode 0600, so a crash leaves the old or the new state, never a torn one; logtail2 itself
 * truncates and rewrites in place.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ErrorCodes, PortsnareError, systemErrorCode } from '../errors.ts';
import { syncDir, writeFully } from '../state/ban-files.ts';
import { createExclusive } from '../state/dir-trust.ts';

/** What logtail2 keeps per log: the inode read last and how many bytes of it were read. */
export interface LogtailOffset {
  readonly inode: number;
  readonly offset: number;
}

/**
 * The first bytes of a file (its first line, at most HEAD_MAX bytes) as length and SHA-256. A file
 * that was truncated and rewritten, or a new file that got a freed inode number, starts differently.
 */
export interface FileHead {
  readonly length: number;
  readonly sha256: string;
}

/** portsnare's record beside a log's offset file (JSON, version 1). */
export interface OffsetSidecar {
  readonly version: 1;
  readonly dev: number;
  readonly inode: number;
  /** The byte offset committed with it (equal to the offset file's when portsnare wrote both). */
  readonly offset: number;
  /** The file's size when it was last read. */
  readonly size: number;
  /** The file's first line; null while it had no complete first line. */
  readonly head: FileHead | null;
}

/** portsnare's record beside STATE/offset.journal. */
export interface JournalSidecar {
  readonly version: 1;
  /** The journal cursor of the last entry read (`journalctl --show-cursor`), or null. */
  readonly cursor: string | null;
  /** The mtime (ms) portsnare gave offset.journal; another value means logcheck touched it since. */
  readonly offsetMtimeMs: number;
}

/** How many bytes of a first line are hashed at most (a longer first line is hashed in part). */
export const HEAD_MAX = 4096;

/** The name of logcheck's journal "offset" file, whose mtime is the journal position. */
export const JOURNAL_OFFSET_NAME = 'offset.journal';

/**
 * The offset file logcheck passes to logtail2 for `logPath`: state dir + `offset` + the absolute
 * path with every `/` turned into `.` (`/var/log/syslog` -> `STATE/offset.var.log.syslog`).
 */
export function offsetFilePath(stateDir: string, logPath: string): string {
  return join(stateDir, `offset${resolve(logPath).replaceAll('/', '.')}`);
}

/** portsnare's record beside an offset file: same directory, `portsnare-` + its name. */
export function sidecarPath(offsetFile: string): string {
  return join(dirname(offsetFile), `portsnare-${basename(offsetFile)}`);
}

const DECIMAL = /^[0-9]{1,16}$/;

function parseCount(text: string | undefined, what: string, path: string): number {
  const n = text === undefined ? NaN : Number(text);
  if (text === undefined || !DECIMAL.test(text) || !Number.isSafeInteger(n)) {
    throw new PortsnareError(ErrorCodes.LOG_OFFSET, `${path}: ${what} is not a decimal number`);
  }
  return n;
}

/**
 * Parses the text of an offset file: two decimal lines, inode then offset, newline-terminated
 * (logtail2) or without the final newline (the classic C logtail). An empty file (logtail2 killed
 * between its truncation and its write) is null: logtail2 itself then reads the file from 0.
 */
export function parseLogtailOffset(text: string, path = 'offset file'): LogtailOffset | null {
  if (text === '') return null;
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const lines = body.split('\n');
  if (lines.length !== 2) {
    throw new PortsnareError(ErrorCodes.LOG_OFFSET, `${path}: expected two lines (inode, offset)`);
  }
  return { inode: parseCount(lines[0], 'the inode', path), offset: parseCount(lines[1], 'the offset', path) };
}

async function readIfThere(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (systemErrorCode(err) === 'ENOENT') return null;
    throw new PortsnareError(
      ErrorCodes.FILE,
      `${path}: cannot be read (${systemErrorCode(err) ?? 'error'})`,
      {
        cause: err,
      },
    );
  }
}

/** The offset file at `path`, or null when there is none (first run). */
export async function readLogtailOffset(path: string): Promise<LogtailOffset | null> {
  const text = await readIfThere(path);
  return text === null ? null : parseLogtailOffset(text, path);
}

/**
 * Replaces `path` with `data`: a temp file created with O_EXCL|O_NOFOLLOW in the same directory,
 * written, fsync'd, renamed over `path`, then the directory fsync'd. A failure before the rename
 * leaves `path` as it was.
 */
export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const tempName = `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const handle = await createExclusive(dir, tempName, mode);
  const temp = join(dir, tempName);
  try {
    await writeFully(handle, Buffer.from(data), 0);
    await handle.chmod(mode);
    await handle.sync();
    await handle.close();
    await rename(temp, path);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw new PortsnareError(
      ErrorCodes.FILE,
      `${path}: cannot be written (${systemErrorCode(err) ?? 'error'})`,
      {
        cause: err,
      },
    );
  }
  await syncDir(dir);
}

/** Writes an offset file in logtail2's form, `<inode>\n<offset>\n`, atomically, mode 0600. */
export async function writeLogtailOffset(path: string, value: LogtailOffset): Promise<void> {
  await writeFileAtomic(path, `${value.inode}\n${value.offset}\n`);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isHead(v: unknown): v is FileHead | null {
  if (v === null) return true;
  if (typeof v !== 'object') return false;
  const h = v as Record<string, unknown>;
  return isCount(h.length) && typeof h.sha256 === 'string' && /^[0-9a-f]{64}$/.test(h.sha256);
}

/**
 * portsnare's record at `path`, or null when there is none or it does not parse. A damaged record
 * only costs the extra checks (logtail2's offset file still says where to go on), so it is not fatal.
 */
export async function readOffsetSidecar(path: string): Promise<OffsetSidecar | null> {
  const text = await readIfThere(path);
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (v.version !== 1 || !isCount(v.dev) || !isCount(v.inode) || !isCount(v.offset) || !isCount(v.size)) {
      return null;
    }
    if (!isHead(v.head)) return null;
    return { version: 1, dev: v.dev, inode: v.inode, offset: v.offset, size: v.size, head: v.head };
  } catch {
    return null;
  }
}

export async function writeOffsetSidecar(path: string, value: OffsetSidecar): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value)}\n`);
}

/** portsnare's journal record at `path`, or null when there is none or it does not parse. */
export async function readJournalSidecar(path: string): Promise<JournalSidecar | null> {
  const text = await readIfThere(path);
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (v.version !== 1 || !isCount(v.offsetMtimeMs)) return null;
    if (v.cursor !== null && typeof v.cursor !== 'string') return null;
    return { version: 1, cursor: v.cursor, offsetMtimeMs: v.offsetMtimeMs };
  } catch {
    return null;
  }
}

export async function writeJournalSidecar(path: string, value: JournalSidecar): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value)}\n`);
}

/**
 * The head of a file from its first bytes (`bytes` = up to HEAD_MAX bytes read from offset 0,
 * `fileSize` = its size): the first line with its newline, or the first HEAD_MAX bytes of a longer
 * one; null while the first line is not complete yet (its hash would change as it is written).
 */
export function headOf(bytes: Buffer, fileSize: number): FileHead | null {
  const nl = bytes.indexOf(0x0a);
  let length: number;
  if (nl !== -1 && nl < HEAD_MAX) length = nl + 1;
  else if (bytes.length >= HEAD_MAX && fileSize >= HEAD_MAX) length = HEAD_MAX;
  else return null;
  return { length, sha256: hashBytes(bytes.subarray(0, length)) };
}

export function hashBytes(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
