/**
 * @module state/ban-records
 * The record format of the ban store's files (`bans.journal` and `bans.snapshot`, see
 * state/ban-store): encoding, scanning, checking and parsing records.
 *
 * Record format (both files), one line: `CRC\tLEN\tPAYLOAD\n`. PAYLOAD is an add or a remove of
 * one ban (state/ban-payload says which fields, for both format versions). LEN is PAYLOAD's byte length in five decimal
 * digits, and CRC is the CRC-32 of `LEN\tPAYLOAD` in eight hex digits. A line is data only if it is
 * complete, its length matches and its checksum checks out. Fields can hold no tab, newline or
 * control character (add() refuses them), so a record is always one line. The format is text, so
 * ordinary tools can read and repair it. Loading parses it by hand from bytes: no JSON, and no
 * string per line except the address. Framing only: the fields are state/ban-payload's. A million bans load in about 2.5 s on a 2-core machine.
 *
 * Upgrade from version 1 (no step of it can leave an unreadable store): this code reads a version-1
 * snapshot (header version 1) and version-1 add records (type `A`) as well as its own (`B`), so a
 * version-1 store opens as it is. open() then compacts once: a version-2 snapshot is written to a
 * temp file, fsync'd and renamed over the old one, and only then is the journal truncated. A crash
 * before the rename leaves the version-1 files (the temp file is deleted at the next open); one
 * between the rename and the truncation leaves a version-2 snapshot beside a journal whose records
 * it already holds, which replay to the same bans. Records appended before the compaction are
 * version 2 in a possibly version-1 journal: each line is read by its own type letter.
 */
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

export const MAGIC = 'portsnare-bans';
/** The version this code writes (the snapshot header's); see state/ban-payload for both. */
export const FORMAT_VERSION = 2;
/** Snapshot versions this code reads: 1 is upgraded (rewritten as 2) at open. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];
/** No record we write has a longer payload; a longer line is damage. */
export const MAX_PAYLOAD = 64 * 1024;
/** `CRC\tLEN\t`: eight hex digits, five decimal digits. */
const HEAD = 15;
const MAX_LINE = HEAD + MAX_PAYLOAD + 1;
const HEX = Buffer.from('0123456789abcdef');
const READ_CHUNK = 4 * 1024 * 1024;
export const WRITE_CHUNK = 1024 * 1024;

export const TAB = 9;
const NL = 10;
const COMMA = 44;

/** For callers of version 1's makeBan here; the Ban type and its maker live in state/ban. */
export { makeBan } from './ban.ts';

function isTime(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

// --- record encoding ------------------------------------------------------------------------------

/**
 * Encodes records straight into buffers (no string per line besides the payload): the payload is
 * written first, then its length and checksum in the fixed-width fields in front of it.
 */
export class RecordEncoder {
  readonly #full: Buffer[] = [];
  #buf = Buffer.allocUnsafe(WRITE_CHUNK);
  #pos = 0;

  /** Bytes encoded and not yet taken. */
  get size(): number {
    return this.#full.reduce((n, chunk) => n + chunk.length, this.#pos);
  }

  /** `payload` must be at most MAX_PAYLOAD bytes. */
  push(payload: string): void {
    if (this.#buf.length - this.#pos < MAX_LINE) {
      this.#full.push(this.#buf.subarray(0, this.#pos));
      this.#buf = Buffer.allocUnsafe(WRITE_CHUNK);
      this.#pos = 0;
    }
    const buf = this.#buf;
    const start = this.#pos;
    const length = buf.write(payload, start + HEAD);
    buf[start + 8] = TAB;
    for (let i = start + 13, n = length; i > start + 8; i--, n = Math.floor(n / 10)) buf[i] = 48 + (n % 10);
    buf[start + 14] = TAB;
    buf[start + HEAD + length] = NL;
    const crc = crc32(buf.subarray(start + 9, start + HEAD + length));
    for (let i = start + 7, n = crc; i >= start; i--, n >>>= 4) buf[i] = HEX[n & 15] as number;
    this.#pos = start + HEAD + length + 1;
  }

  /** A copy of everything encoded so far; the encoder starts over. */
  take(): Buffer {
    const out = Buffer.concat([...this.#full, this.#buf.subarray(0, this.#pos)]);
    this.#full.length = 0;
    this.#pos = 0;
    return out;
  }
}

// --- record decoding ------------------------------------------------------------------------------

export interface ScanResult {
  /** File size when read. */
  size: number;
  /** Offset just past the last good record (0 if none). */
  goodEnd: number;
  /** Good records. */
  good: number;
  /** Damaged complete lines before the last good record. */
  corrupt: number;
  /** Complete lines seen, good or not. */
  lines: number;
}

/**
 * Reads a record file a chunk at a time and hands each record whose length and checksum check out
 * to `accept` (payload bytes [start, end) of buf; false = not a record after all). A line longer
 * than any record we write is damage; bytes after the last good record are the tail.
 */
export async function scanRecords(
  handle: FileHandle,
  accept: (buf: Buffer, start: number, end: number) => boolean,
): Promise<ScanResult> {
  const result: ScanResult = { size: 0, goodEnd: 0, good: 0, corrupt: 0, lines: 0 };
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  let base = 0; // file offset of buf[0]
  let filled = 0;
  let skipping = false; // inside an overlong line: drop bytes up to its newline
  let badSinceGood = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buf, filled, buf.length - filled, base + filled);
    filled += bytesRead;
    const view = buf.subarray(0, filled);
    let start = 0;
    for (let nl = view.indexOf(NL, start); nl >= 0; nl = view.indexOf(NL, start)) {
      result.lines++;
      const payload = skipping ? -1 : checkRecord(view, start, nl);
      skipping = false;
      if (payload >= 0 && accept(view, payload, nl)) {
        result.good++;
        result.corrupt += badSinceGood;
        badSinceGood = 0;
        result.goodEnd = base + nl + 1;
      } else {
        badSinceGood++;
      }
      start = nl + 1;
    }
    if (bytesRead === 0) {
      result.size = base + filled;
      return result;
    }
    if (filled - start > MAX_LINE) {
      skipping = true;
      start = filled;
    }
    buf.copyWithin(0, start, filled);
    base += start;
    filled -= start;
  }
}

/** The offset of the payload of the line [start, nl) if its length and checksum check out, else -1. */
function checkRecord(buf: Buffer, start: number, nl: number): number {
  if (nl - start < HEAD || buf[start + 8] !== TAB || buf[start + 14] !== TAB) return -1;
  if (parseUint(buf, start + 9, start + 14) !== nl - start - HEAD) return -1;
  let expected = 0;
  for (let i = start; i < start + 8; i++) {
    const digit = hexDigit(buf[i] as number);
    if (digit < 0) return -1;
    expected = expected * 16 + digit;
  }
  if (crc32(buf.subarray(start + 9, nl)) !== expected) return -1;
  return start + HEAD;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** A decimal integer of 1 to 15 digits in [start, end), or -1. */
export function parseUint(buf: Buffer, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = (buf[i] as number) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

export function parsePorts(buf: Buffer, start: number, end: number): number[] | null {
  let count = start === end ? 0 : 1;
  for (let i = start; i < end; i++) if (buf[i] === COMMA) count++;
  const ports = new Array<number>(count); // exactly sized: push() would reserve 16 slots
  let from = start;
  for (let n = 0; n < count; n++) {
    let to = from;
    while (to < end && buf[to] !== COMMA) to++;
    const port = parseUint(buf, from, to);
    if (port < 0 || port > 65535) return null;
    ports[n] = port;
    from = to + 1;
  }
  return Object.freeze(ports) as number[];
}

export function parseHeader(
  buf: Buffer,
  start: number,
  end: number,
): { version: number; count: number } | null {
  const fields = buf.toString('latin1', start, end).split('\t');
  if (fields.length !== 4 || fields[0] !== 'S' || fields[1] !== MAGIC) return null;
  const [version, count] = [Number(fields[2]), Number(fields[3])];
  return Number.isSafeInteger(version) && isTime(count) ? { version, count } : null;
}
