/**
 * @module logcheck/log-source
 * "The lines added to this log since the last run", as logcheck gets them from logtail2 and
 * `journalctl --since`, but streamed (chunks of a fixed size, one line at a time through an async
 * iterator: memory does not grow with the log) and with a two-phase commit: opening a read plans it
 * and iterating yields the lines; the offsets move only when the caller calls `commit()`, after the
 * report was delivered (never under logcheck's `-t`). A failure before that leaves them as they were,
 * so the next run reads the same lines again.
 *
 * Files follow logtail2 (no offset: from 0; same inode and offset == size: nothing; grown: from the
 * offset; new inode: the rotated file found by logtail2's heuristics, from the saved offset when its
 * inode is the saved one, then the new file from 0) and do better where logtail2 loses or mangles
 * lines: a rotated file compressed at once (`.gz` by node:zlib, `.xz`/`.zst` through `xz -dc` /
 * `zstd -dc`), savelog's first rotation (`.0` without `.1.gz`), copytruncate and a reused inode number
 * (recognised by the first-line hash of logcheck/offsets' record; no warning banner among the lines),
 * and a half-written last line (held back: the offset stops after the last newline).
 * Also the `journal` source (with a cursor, still touching offset.journal for logcheck) and the
 * logfile lists (`logcheck.logfiles`, `logcheck.logfiles.d/*.logfiles`).
 */
import { isAscii as isAsciiBytes } from 'node:buffer';
import { spawn } from 'node:child_process';
import { constants, createReadStream, type Stats } from 'node:fs';
import { access, open, readdir, readFile, stat, utimes, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { ErrorCodes, PortsnareError, describeError, systemErrorCode } from '../errors.ts';
import {
  HEAD_MAX,
  JOURNAL_OFFSET_NAME,
  hashBytes,
  headOf,
  offsetFilePath,
  readJournalSidecar,
  readLogtailOffset,
  readOffsetSidecar,
  sidecarPath,
  writeFileAtomic,
  writeJournalSidecar,
  writeLogtailOffset,
  writeOffsetSidecar,
  type FileHead,
  type LogtailOffset,
  type OffsetSidecar,
} from './offsets.ts';

/** How a file's bytes are stored. */
export type Compression = 'none' | 'gzip' | 'xz' | 'zstd';

/** One file (or rotated generation) to read, from a byte offset of its uncompressed content. */
export interface LogSegment {
  readonly path: string;
  readonly compression: Compression;
  readonly start: number;
  /** The rotated generation (complete: its last line is emitted even without a newline). */
  readonly rotated: boolean;
}

export interface LogReadOptions {
  /** Where the offset files are (logcheck's `-S`, /var/lib/logcheck by default). */
  readonly stateDir: string;
  /** Bytes read at a time (64 KiB). */
  readonly chunkSize?: number;
  /** A longer line is emitted in pieces of this many bytes (1 MiB), so memory stays bounded. */
  readonly maxLineBytes?: number;
  /** The decompressors spawned for `.xz` and `.zst` (found in PATH by default). */
  readonly commands?: { readonly xz?: string; readonly zstd?: string };
}

/** A planned read of one log: iterate `lines` once, then `commit()` after the report was delivered. */
export interface LogRead {
  readonly path: string;
  readonly offsetFile: string;
  /** What is read, in order (rotated generation first). */
  readonly segments: readonly LogSegment[];
  /**
   * What was noticed (rotation, copytruncate, a reused inode, a held-back partial line, a rotated
   * file that could not be found): for a report's header or a log, never mixed into the lines.
   */
  readonly notes: string[];
  /** The new lines, without their newline. Iterable once (this or `batches`). */
  readonly lines: AsyncIterable<string>;
  /** The same lines, a chunk's worth at a time (one await per chunk, not per line). */
  readonly batches: AsyncIterable<LineBatch>;
  /** The same lines as bytes: chunks of whole lines (see logcheck/line-places). What a long run reads. */
  readonly chunks: AsyncIterable<Buffer>;
  /** Writes the offsets of what was read. Only after `lines` was iterated to its end. */
  commit(): Promise<void>;
  /** Releases the open file (also done when `lines` ends); idempotent. */
  close(): Promise<void>;
}

/** The lines of one chunk read. `ascii`: every one of them is made of ASCII characters only. */
export interface LineBatch {
  readonly lines: string[];
  readonly ascii: boolean;
}

/**
 * 256 KiB: on a 105 MB log, 64 KiB chunks cost 0.12 s more in reads and awaits (measured with
 * scripts/bench/logcheck.ts); larger ones gain nothing.
 */
const CHUNK = 256 * 1024;
const MAX_LINE = 1024 * 1024;
/** How many sibling files are looked at for a first-line match when the heuristics find none. */
const MAX_SIBLINGS = 64;
const DATEEXT = /^-[0-9]{8}$/;
const COMPRESSED: readonly [string, Compression][] = [
  ['.gz', 'gzip'],
  ['.xz', 'xz'],
  ['.zst', 'zstd'],
];

function compressionOf(path: string): Compression {
  for (const [ext, kind] of COMPRESSED) if (path.endsWith(ext)) return kind;
  return 'none';
}

/**
 * A program whose stdout is read (a decompressor, journalctl): argument vector, no shell, the first
 * 4 KiB of its stderr kept for the error message, and its exit status (rejects if it cannot run).
 */
function spawnReader(program: string, args: readonly string[]) {
  const child = spawn(program, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<number | null>((res, rej) => {
    child.once('error', rej);
    child.once('close', (code) => res(code));
  });
  exited.catch(() => undefined);
  return {
    stdout: child.stdout,
    exited,
    firstErrorLine: () => stderr.trim().split('\n')[0] ?? '',
    /** Ends it if it is still running (the reader stopped early). */
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (err) {
    if (systemErrorCode(err) === 'ENOENT' || systemErrorCode(err) === 'ENOTDIR') return null;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Byte sources

async function* plainChunks(handle: FileHandle, start: number, chunkSize: number): AsyncGenerator<Buffer> {
  let position = start;
  for (;;) {
    const buf = Buffer.allocUnsafe(chunkSize);
    const { bytesRead } = await handle.read(buf, 0, chunkSize, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** The uncompressed bytes of `path`, from the start. xz and zstd are spawned with an argv. */
async function* decompressedChunks(
  path: string,
  kind: Exclude<Compression, 'none'>,
  opts: LogReadOptions,
): AsyncGenerator<Buffer> {
  if (kind === 'gzip') {
    const stream = createReadStream(path).pipe(createGunzip());
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (err) {
      throw new PortsnareError(ErrorCodes.FILE, `${path}: cannot be decompressed (${describeError(err)})`, {
        cause: err,
      });
    } finally {
      stream.destroy();
    }
    return;
  }
  const program = (kind === 'xz' ? opts.commands?.xz : opts.commands?.zstd) ?? kind;
  const child = spawnReader(program, ['-dc', '--', path]);
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const code = await child.exited;
    if (code !== 0) {
      throw new PortsnareError(
        ErrorCodes.COMMAND_FAILED,
        `${program} -dc ${path} failed (exit ${code}): ${child.firstErrorLine()}`,
      );
    }
  } catch (err) {
    if (err instanceof PortsnareError) throw err;
    if (systemErrorCode(err) === 'ENOENT') {
      throw new PortsnareError(
        ErrorCodes.COMMAND_FAILED,
        `${path} is ${kind}-compressed but "${program}" is not installed: its lines were not read and ` +
          'the offsets were not moved (install it, or decompress the file)',
        { cause: err },
      );
    }
    throw new PortsnareError(ErrorCodes.COMMAND_FAILED, `${program} -dc ${path}: ${describeError(err)}`, {
      cause: err,
    });
  } finally {
    child.stop();
  }
}

/** Drops the first `skip` bytes of a byte stream (an offset into a compressed file's content). */
async function* skipBytes(chunks: AsyncIterable<Buffer>, skip: number): AsyncGenerator<Buffer> {
  let left = skip;
  for await (const chunk of chunks) {
    if (left >= chunk.length) {
      left -= chunk.length;
      continue;
    }
    yield left > 0 ? chunk.subarray(left) : chunk;
    left = 0;
  }
}

/** The first `length` uncompressed bytes of a file (fewer if it is shorter). */
async function firstBytes(path: string, compression: Compression, length: number, opts: LogReadOptions) {
  if (compression === 'none') {
    const handle = await open(path, 'r');
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buf, 0, length, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }
  const parts: Buffer[] = [];
  let have = 0;
  const source = decompressedChunks(path, compression, opts);
  try {
    for await (const chunk of source) {
      parts.push(chunk);
      have += chunk.length;
      if (have >= length) break;
    }
  } catch (err) {
    // A missing decompressor must be said, not taken for "not this file" (its lines would be lost).
    if (isMissingProgram(err)) throw err;
    return Buffer.alloc(0); // damaged: not a match
  }
  return Buffer.concat(parts).subarray(0, length);
}

/** True for the error of a decompressor that is not installed. */
function isMissingProgram(err: unknown): boolean {
  return (
    err instanceof PortsnareError &&
    err.code === ErrorCodes.COMMAND_FAILED &&
    systemErrorCode(err.cause) === 'ENOENT'
  );
}

async function headMatches(path: string, compression: Compression, head: FileHead, opts: LogReadOptions) {
  const bytes = await firstBytes(path, compression, head.length, opts);
  return bytes.length === head.length && hashBytes(bytes) === head.sha256;
}

// ---------------------------------------------------------------------------------------------
// Lines

interface LineState {
  /** Bytes of the segment turned into lines so far (complete lines and forced pieces). */
  consumed: number;
  /** Bytes held back at the end: a line without its newline yet. */
  partial: number;
}

/**
 * Cuts a byte stream into chunks of whole lines: each line ended by '\n', except that the bytes
 * after a chunk's last '\n' are one more line (a rotated generation's unterminated last line, or a
 * piece of a line longer than `maxLine`, cut so that memory stays bounded). A last line without a
 * newline is given only when `emitPartial` (a rotated generation, which will not grow); otherwise
 * it is held back and counted in `state.partial`, so the offset stops after the last newline.
 */
async function* lineChunks(
  chunks: AsyncIterable<Buffer>,
  emitPartial: boolean,
  maxLine: number,
  state: LineState,
): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  for await (const chunk of chunks) {
    const lastNl = chunk.lastIndexOf(0x0a);
    if (lastNl === -1) {
      pending.push(chunk);
      pendingLength += chunk.length;
    } else {
      const head = chunk.subarray(0, lastNl + 1);
      const whole = pendingLength > 0 ? Buffer.concat([...pending, head]) : head;
      pending = lastNl + 1 < chunk.length ? [chunk.subarray(lastNl + 1)] : [];
      pendingLength = chunk.length - lastNl - 1;
      // Only a chunk longer than maxLine can hold a line longer than it.
      if (whole.length <= maxLine) {
        state.consumed += whole.length;
        yield whole;
      } else {
        yield* cutLongLines(whole, maxLine, state);
      }
    }
    while (pendingLength > maxLine) {
      const all = Buffer.concat(pending);
      state.consumed += maxLine;
      yield all.subarray(0, maxLine);
      pending = [all.subarray(maxLine)];
      pendingLength = all.length - maxLine;
    }
  }
  if (pendingLength > 0) {
    if (emitPartial) {
      state.consumed += pendingLength;
      yield Buffer.concat(pending);
    } else {
      state.partial = pendingLength;
    }
  }
}

/** `whole` (lines each ended by '\n') as chunks in which no line is longer than `maxLine`. */
function* cutLongLines(whole: Buffer, maxLine: number, state: LineState): Generator<Buffer> {
  let segment = 0;
  let from = 0;
  while (from < whole.length) {
    const nl = whole.indexOf(0x0a, from);
    if (nl - from > maxLine) {
      if (from > segment) {
        state.consumed += from - segment;
        yield whole.subarray(segment, from);
      }
      let at = from;
      while (nl - at > maxLine) {
        state.consumed += maxLine;
        yield whole.subarray(at, at + maxLine);
        at += maxLine;
      }
      segment = at;
    }
    from = nl + 1;
  }
  if (whole.length > segment) {
    state.consumed += whole.length - segment;
    yield whole.subarray(segment);
  }
}

/** A chunk of whole lines (lineChunks) as strings. */
function linesOf(chunk: Buffer): LineBatch {
  const ascii = isAsciiBytes(chunk);
  const lines: string[] = [];
  let from = 0;
  for (;;) {
    const nl = chunk.indexOf(0x0a, from);
    if (nl === -1) break;
    lines.push(chunk.toString(ascii ? 'latin1' : 'utf8', from, nl));
    from = nl + 1;
  }
  if (from < chunk.length) lines.push(chunk.toString(ascii ? 'latin1' : 'utf8', from));
  return { lines, ascii };
}

async function* splitLines(
  chunks: AsyncIterable<Buffer>,
  emitPartial: boolean,
  maxLine: number,
  state: LineState,
): AsyncGenerator<LineBatch> {
  for await (const chunk of lineChunks(chunks, emitPartial, maxLine, state)) yield linesOf(chunk);
}

async function* batchesOf(chunks: AsyncIterable<Buffer>): AsyncGenerator<LineBatch> {
  for await (const chunk of chunks) yield linesOf(chunk);
}

/** The lines of `batches`, one by one (for callers that read little). */
async function* eachLine(batches: AsyncIterable<LineBatch>): AsyncGenerator<string> {
  for await (const batch of batches) yield* batch.lines;
}

// ---------------------------------------------------------------------------------------------
// Finding the rotated generation

interface Candidate {
  path: string;
  compression: Compression;
  /** Named by a logtail2 heuristic or its compressed twin (may be taken unverified without a record). */
  named: boolean;
}

async function candidates(logPath: string): Promise<Candidate[]> {
  const dir = dirname(logPath);
  const base = basename(logPath);
  let entries: string[] = [];
  try {
    entries = await readdir(dir);
  } catch {
    entries = [];
  }
  const out: Candidate[] = [];
  const seen = new Set<string>();
  const add = (name: string, named: boolean) => {
    if (seen.has(name) || !entries.includes(name)) return;
    seen.add(name);
    out.push({ path: join(dir, name), compression: compressionOf(name), named });
  };
  const dated = (suffix: string) =>
    entries
      .filter((e) => e.startsWith(`${base}-`) && e.endsWith(suffix))
      .filter((e) => DATEEXT.test(e.slice(base.length, e.length - suffix.length)))
      .sort();

  // logtail2's order: 10-savelog, 20-logrotate, 30-logrotate-dateext.
  const zero = await statOrNull(join(dir, `${base}.0`));
  const oneGz = await statOrNull(join(dir, `${base}.1.gz`));
  if (zero && oneGz && Math.trunc(zero.mtimeMs / 1000) > Math.trunc(oneGz.mtimeMs / 1000))
    add(`${base}.0`, true);
  add(`${base}.1`, true);
  const lastDated = dated('').at(-1);
  if (lastDated !== undefined) add(lastDated, true);
  // Beyond logtail2: savelog's first rotation, and generations compressed at once.
  add(`${base}.0`, true);
  for (const [ext] of COMPRESSED) add(`${base}.1${ext}`, true);
  for (const [ext] of COMPRESSED) add(`${base}.0${ext}`, true);
  for (const [ext] of COMPRESSED) {
    const last = dated(ext).at(-1);
    if (last !== undefined) add(last, true);
  }
  // Anything else named after the log, newest first: only taken when its first line matches.
  const others = entries.filter(
    (e) => (e.startsWith(`${base}.`) || e.startsWith(`${base}-`)) && !seen.has(e),
  );
  const withTimes: [string, number][] = [];
  for (const name of others.slice(0, MAX_SIBLINGS)) {
    const st = await statOrNull(join(dir, name));
    if (st?.isFile()) withTimes.push([name, st.mtimeMs]);
  }
  withTimes.sort((a, b) => b[1] - a[1]);
  for (const [name] of withTimes) add(name, false);
  return out;
}

/**
 * The rotated generation holding the lines after `saved.offset`: the first candidate whose inode is
 * the saved one (logtail2's rule, for a renamed file), or whose first line is the recorded one (a
 * copy or a compressed file has a new inode). Without portsnare's record a compressed or copied
 * generation cannot be verified; a logtail2-named one is then taken (`unverified`) when `lenient`.
 */
async function findRotated(
  logPath: string,
  saved: LogtailOffset,
  side: OffsetSidecar | null,
  lenient: boolean,
  opts: LogReadOptions,
): Promise<{ candidate: Candidate; unverified: boolean } | null> {
  const all = await candidates(logPath);
  for (const c of all) {
    const st = await statOrNull(c.path);
    if (!st?.isFile()) continue;
    if (c.compression === 'none') {
      if (st.ino === saved.inode && (side === null || st.dev === side.dev)) {
        if (side?.head && !(await headMatches(c.path, 'none', side.head, opts))) continue;
        return { candidate: c, unverified: false };
      }
      if (side?.head) {
        if (st.size >= saved.offset && (await headMatches(c.path, 'none', side.head, opts))) {
          return { candidate: c, unverified: false };
        }
        continue;
      }
      if (side === null && lenient && c.named && st.size >= saved.offset)
        return { candidate: c, unverified: true };
      continue;
    }
    if (side?.head) {
      let matches: boolean;
      try {
        matches = await headMatches(c.path, c.compression, side.head, opts);
      } catch (err) {
        // A generation named by the rotation schemes may hold the lost lines: stop and say why.
        // Another file named after the log was only a guess: skip it.
        if (c.named) throw err;
        continue;
      }
      if (matches) return { candidate: c, unverified: false };
      continue;
    }
    if (side === null && c.named) return { candidate: c, unverified: true };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Reading one log

/** Plans a read of `logPath` since the last committed run. */
export async function openLogRead(logPath: string, opts: LogReadOptions): Promise<LogRead> {
  const path = resolve(logPath);
  const offsetFile = offsetFilePath(opts.stateDir, path);
  const sideFile = sidecarPath(offsetFile);
  const chunkSize = opts.chunkSize ?? CHUNK;
  const maxLine = opts.maxLineBytes ?? MAX_LINE;

  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO planted at the log's path must not hang the run (refused below).
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new PortsnareError(
      ErrorCodes.FILE,
      `File ${path} cannot be read: ${systemErrorCode(err) ?? 'error'}`,
      {
        cause: err,
      },
    );
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  try {
    const cur = await handle.stat();
    if (!cur.isFile()) throw new PortsnareError(ErrorCodes.FILE_TYPE, `${path} is not a regular file`);
    const headBuf = Buffer.alloc(HEAD_MAX);
    const { bytesRead } = await handle.read(headBuf, 0, HEAD_MAX, 0);
    const curHead = headOf(headBuf.subarray(0, bytesRead), cur.size);

    const saved = await readLogtailOffset(offsetFile);
    const rawSide = await readOffsetSidecar(sideFile);
    // The record counts only beside the offset it was written with: other values mean logtail2 ran
    // since (and already printed whatever it made of a rotation or truncation), so its word stands.
    const side =
      rawSide && saved && rawSide.inode === saved.inode && rawSide.offset === saved.offset ? rawSide : null;
    const notes: string[] = [];
    const segments: LogSegment[] = [];
    const current = (start: number): LogSegment => ({ path, compression: 'none', start, rotated: false });

    const sameFileStart = async (): Promise<boolean> => {
      if (!side?.head) return true;
      if (cur.size < side.head.length) return false;
      const buf = Buffer.alloc(side.head.length);
      const r = await handle.read(buf, 0, side.head.length, 0);
      return r.bytesRead === side.head.length && hashBytes(buf) === side.head.sha256;
    };
    const takeRotated = async (why: string, lenient: boolean) => {
      if (saved === null) return;
      const found = await findRotated(path, saved, side, lenient, opts);
      if (found === null) {
        notes.push(
          `${path}: ${why}; no earlier generation found, lines written after byte ${saved.offset} of it may be lost`,
        );
        return;
      }
      const { candidate, unverified } = found;
      segments.push({
        path: candidate.path,
        compression: candidate.compression,
        start: saved.offset,
        rotated: true,
      });
      notes.push(
        `${path}: ${why}; read ${candidate.path} from byte ${saved.offset}` +
          (unverified ? ' (not verified to be the same file: no portsnare record)' : '') +
          `, then ${path} from 0`,
      );
    };

    if (saved === null) {
      segments.push(current(0));
    } else if (saved.inode === cur.ino && (side === null || side.dev === cur.dev)) {
      if (!(await sameFileStart())) {
        await takeRotated(
          cur.size < saved.offset
            ? 'truncated (copytruncate) and its first line changed'
            : 'first line changed on the same inode (copytruncate, or a new file with a reused inode number)',
          true,
        );
        segments.push(current(0));
      } else if (saved.offset <= cur.size) {
        segments.push(current(saved.offset));
      } else {
        await takeRotated(
          `smaller than last time (${cur.size} < ${saved.offset} bytes: copytruncate?)`,
          true,
        );
        segments.push(current(0));
      }
    } else {
      await takeRotated('rotated (new inode)', false);
      segments.push(current(0));
    }

    const state: LineState = { consumed: 0, partial: 0 };
    let finished = false;
    let iterated = false;
    let endSize = cur.size;

    async function* generate(): AsyncGenerator<Buffer> {
      if (iterated) throw new PortsnareError(ErrorCodes.LOG_OFFSET, `${path}: lines can be read only once`);
      iterated = true;
      try {
        for (const seg of segments) {
          if (seg.rotated) {
            const bytes =
              seg.compression === 'none'
                ? await readRotatedPlain(seg, chunkSize)
                : skipBytes(decompressedChunks(seg.path, seg.compression, opts), seg.start);
            yield* lineChunks(bytes, true, maxLine, { consumed: 0, partial: 0 });
          } else {
            yield* lineChunks(plainChunks(handle, seg.start, chunkSize), false, maxLine, state);
          }
        }
        endSize = (await handle.stat()).size;
        finished = true;
      } finally {
        await close();
      }
      if (state.partial > 0) {
        notes.push(`${path}: last line not complete yet (${state.partial} bytes); read next time`);
      }
    }

    const last = segments[segments.length - 1];
    const startOfCurrent = last?.start ?? 0;
    return {
      path,
      offsetFile,
      segments,
      notes,
      lines: { [Symbol.asyncIterator]: () => eachLine(batchesOf(generate())) },
      batches: { [Symbol.asyncIterator]: () => batchesOf(generate()) },
      chunks: { [Symbol.asyncIterator]: () => generate() },
      close,
      async commit(): Promise<void> {
        if (!finished) {
          throw new PortsnareError(ErrorCodes.LOG_OFFSET, `${path}: commit() before all lines were read`);
        }
        const offset = startOfCurrent + state.consumed;
        await writeLogtailOffset(offsetFile, { inode: cur.ino, offset });
        await writeOffsetSidecar(sideFile, {
          version: 1,
          dev: cur.dev,
          inode: cur.ino,
          offset,
          size: endSize,
          head: curHead,
        });
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function readRotatedPlain(seg: LogSegment, chunkSize: number): Promise<AsyncGenerator<Buffer>> {
  const handle = await open(seg.path, 'r');
  async function* gen(): AsyncGenerator<Buffer> {
    try {
      yield* plainChunks(handle, seg.start, chunkSize);
    } finally {
      await handle.close();
    }
  }
  return gen();
}

// ---------------------------------------------------------------------------------------------
// The journal

/** The three lines logcheck writes into the report on its first look at the journal. */
export const JOURNAL_FIRST_RUN_LINES: readonly string[] = [
  'This is the first time logcheck has checked the systemd journal.',
  'Only recent entries (from the last 5 hours) will be checked',
  'If you do not wish to check the systemd journal, please see /etc/logcheck/logcheck.logfiles.d/journal.logfiles',
];

export interface JournalReadOptions {
  readonly stateDir: string;
  /** The program run (`journalctl`, found in PATH). */
  readonly journalctl?: string;
  /** The clock (ms), for tests. */
  readonly now?: () => number;
}

export interface JournalRead {
  /** The argument vector given to journalctl. */
  readonly args: readonly string[];
  /** Lines for the report body before the log lines (logcheck's first-run explanation), or none. */
  readonly preamble: readonly string[];
  readonly lines: AsyncIterable<string>;
  /** The same lines in batches (see LogRead.batches). */
  readonly batches: AsyncIterable<LineBatch>;
  /** Touches offset.journal (for logcheck) and stores the cursor (for portsnare). */
  commit(): Promise<void>;
}

const CURSOR_PREFIX = '-- cursor: ';

/**
 * Plans a read of the journal since the last committed run. logcheck's position is the mtime of
 * STATE/offset.journal (`--since=@<seconds>`, first run `--since=-5h`); portsnare's is the cursor of
 * the last entry in its record beside it (`--after-cursor`), used while offset.journal still has
 * the mtime portsnare gave it; another mtime means logcheck ran since, so its position wins.
 */
export async function openJournalRead(opts: JournalReadOptions): Promise<JournalRead> {
  const program = opts.journalctl ?? 'journalctl';
  const now = opts.now ?? Date.now;
  const offsetFile = join(opts.stateDir, JOURNAL_OFFSET_NAME);
  const sideFile = sidecarPath(offsetFile);
  const st = await statOrNull(offsetFile);
  const side = st ? await readJournalSidecar(sideFile) : null;
  const args = ['--quiet', '--show-cursor'];
  let preamble: readonly string[] = [];
  const useCursor = st !== null && side?.cursor != null && side.offsetMtimeMs === st.mtimeMs;
  if (st === null) {
    args.push('--since=-5h');
    preamble = JOURNAL_FIRST_RUN_LINES;
  } else if (useCursor) {
    args.push(`--after-cursor=${side.cursor}`);
  } else {
    args.push(`--since=@${Math.floor(st.mtimeMs / 1000)}`);
  }
  const startedAt = now();
  let finished = false;
  let iterated = false;
  let cursor: string | null = null;

  async function* generate(): AsyncGenerator<LineBatch> {
    if (iterated) throw new PortsnareError(ErrorCodes.LOG_OFFSET, 'journal lines can be read only once');
    iterated = true;
    const child = spawnReader(program, args);
    try {
      // The last line is held back: --show-cursor prints the last entry's cursor there.
      let held: string | null = null;
      for await (const batch of splitLines(child.stdout, true, MAX_LINE, { consumed: 0, partial: 0 })) {
        const lines = held === null ? [] : [held];
        for (let i = 0; i < batch.lines.length - 1; i++) lines.push(batch.lines[i]!);
        held = batch.lines[batch.lines.length - 1]!;
        if (lines.length > 0) yield { lines, ascii: false };
      }
      // (nothing when no entries)
      if (held !== null && held.startsWith(CURSOR_PREFIX)) cursor = held.slice(CURSOR_PREFIX.length);
      else if (held !== null) yield { lines: [held], ascii: false };
      const code = await child.exited;
      if (code !== 0) {
        throw new PortsnareError(
          ErrorCodes.COMMAND_FAILED,
          `${program} ${args.join(' ')} failed (exit ${code}): ${child.firstErrorLine()}`,
        );
      }
      finished = true;
    } catch (err) {
      if (err instanceof PortsnareError) throw err;
      if (systemErrorCode(err) === 'ENOENT') {
        throw new PortsnareError(
          ErrorCodes.COMMAND_FAILED,
          `${program} is not installed: the journal cannot be read`,
          {
            cause: err,
          },
        );
      }
      throw new PortsnareError(ErrorCodes.COMMAND_FAILED, `${program}: ${describeError(err)}`, {
        cause: err,
      });
    } finally {
      child.stop();
    }
  }

  return {
    args,
    preamble,
    lines: { [Symbol.asyncIterator]: () => eachLine(generate()) },
    batches: { [Symbol.asyncIterator]: () => generate() },
    async commit(): Promise<void> {
      if (!finished)
        throw new PortsnareError(ErrorCodes.LOG_OFFSET, 'journal: commit() before all lines were read');
      // logcheck's `touch`, but with the time journalctl started: logcheck's next `--since` then
      // repeats at most that second instead of losing what arrived while we read.
      if ((await statOrNull(offsetFile)) === null) await writeFileAtomic(offsetFile, '');
      const when = new Date(Math.floor(startedAt / 1000) * 1000);
      await utimes(offsetFile, when, when);
      const after = await stat(offsetFile);
      const kept = cursor ?? (useCursor ? (side?.cursor ?? null) : null);
      await writeJournalSidecar(sideFile, { version: 1, cursor: kept, offsetMtimeMs: after.mtimeMs });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Logfile lists

/** One entry of a logfile list: a log file, or the systemd journal. */
export type LogSourceEntry = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'journal' };

export interface LogfileLists {
  /** In list order, each once. */
  readonly sources: readonly LogSourceEntry[];
  /** logcheck's `E: File could not be read: <path>` lines, for the top of the report. */
  readonly errors: readonly string[];
}

/** The entries of one list's text: lines that are blank or start with `#` are skipped, as logcheck. */
export function parseLogfileList(text: string): string[] {
  return text.split('\n').filter((line, i, all) => {
    if (i === all.length - 1 && line === '') return false;
    return !/^#/.test(line) && !/^\s*$/.test(line);
  });
}

/**
 * Reads `listFile` (logcheck.logfiles) and every `*.logfiles` of `listDir` (sorted; a missing
 * directory has none). A list that is not a readable regular file is an error (logcheck mails an
 * error and stops); a listed path that is not an existing regular file is collected as
 * `E: File could not be read: <path>` and the run goes on (so is `journal` when `opts.journalctl`,
 * default `journalctl`, is not an executable in PATH).
 */
export async function readLogfileLists(
  listFile: string | null,
  listDir: string | null,
  opts: { readonly journalctl?: string } = {},
): Promise<LogfileLists> {
  const lists: string[] = listFile === null ? [] : [listFile];
  if (listDir !== null) {
    let names: string[] = [];
    try {
      names = await readdir(listDir);
    } catch (err) {
      if (systemErrorCode(err) !== 'ENOENT' && systemErrorCode(err) !== 'ENOTDIR')
        throw listError(listDir, err);
    }
    for (const name of names.filter((n) => n.endsWith('.logfiles')).sort()) lists.push(join(listDir, name));
  }
  const sources: LogSourceEntry[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const list of lists) {
    let text: string;
    try {
      const st = await stat(list);
      if (!st.isFile())
        throw new PortsnareError(ErrorCodes.FILE, `${list} does not exist or could not be read`);
      text = await readFile(list, 'utf8');
    } catch (err) {
      throw listError(list, err);
    }
    for (const entry of parseLogfileList(text)) {
      if (seen.has(entry)) continue;
      seen.add(entry);
      if (entry === 'journal') {
        // logcheck: `journal` without a journalctl in PATH is "a file that could not be read".
        if (await findProgram(opts.journalctl ?? 'journalctl')) sources.push({ kind: 'journal' });
        else errors.push('E: File could not be read: journal');
        continue;
      }
      const st = await statOrNull(entry).catch(() => null);
      if (st?.isFile()) sources.push({ kind: 'file', path: entry });
      else errors.push(`E: File could not be read: ${entry}`);
    }
  }
  return { sources, errors };
}

function listError(list: string, err: unknown): PortsnareError {
  if (err instanceof PortsnareError) return err;
  return new PortsnareError(ErrorCodes.FILE, `${list} does not exist or could not be read`, { cause: err });
}

/** Whether `program` (a name looked up in PATH, or a path) is an executable file. */
export async function findProgram(program: string): Promise<boolean> {
  const dirs = program.includes('/') ? [''] : (process.env.PATH ?? '').split(':').filter((d) => d !== '');
  for (const dir of dirs) {
    const path = dir === '' ? program : join(dir, program);
    try {
      const st = await stat(path);
      if (!st.isFile()) continue;
      await access(path, constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}
