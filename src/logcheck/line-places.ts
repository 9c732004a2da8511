/**
 * @module logcheck/line-places
 * Where each line of a chunk of log goes (logcheck/classify LinePartition: a raise candidate, a
 * System Event, or dropped by an ignore rule), with the byte positions the run keeps it by: its end,
 * the end of its text once trailing whitespace is stripped (`sed 's/[[:space:]]\+$//'`), and the end
 * of its sort key (`sort -k 1,3`: up to the end of the third blank-separated field; with SORTUNIQ
 * the whole line). Pure: bytes in, typed arrays out, so the same code runs in the main thread and in
 * the classification workers (logcheck/place-pool).
 *
 * A chunk is whole lines: each ended by '\n', except that bytes after the last '\n' are one more
 * line (a rotated file's unterminated last line, or a piece of an over-long line).
 */
import { isAscii } from 'node:buffer';
import type { LinePartition } from './classify.ts';

export const PLACE_DROP = 0;
export const PLACE_SYSTEM = 1;
export const PLACE_CANDIDATE = 2;

export interface ChunkPlaces {
  readonly count: number;
  /** PLACE_* per line. */
  readonly places: Uint8Array;
  /** Per line, three byte offsets into the chunk: end of line (before '\n'), end of text, end of key. */
  readonly ends: Uint32Array;
}

/** Lines in a chunk (see the module comment). */
export function countLines(chunk: Uint8Array): number {
  let n = 0;
  let from = 0;
  for (;;) {
    const nl = chunk.indexOf(0x0a, from);
    if (nl === -1) break;
    n++;
    from = nl + 1;
  }
  return from < chunk.length ? n + 1 : n;
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/** Where the text of the line `buf[start, end)` ends once trailing whitespace is stripped. */
export function textEndOf(buf: Uint8Array, start: number, end: number): number {
  let textEnd = end;
  while (textEnd > start && isSpace(buf[textEnd - 1]!)) textEnd--;
  return textEnd;
}

/** Where the sort key of the line `buf[start, end)` ends (`sort -k 1,3`; the line with SORTUNIQ). */
export function keyEndOf(buf: Uint8Array, start: number, end: number, sortUniq: boolean): number {
  if (sortUniq) return end;
  let fields = 0;
  let j = start;
  while (j < end) {
    // A field is its leading blanks and then non-blanks.
    while (j < end && isBlank(buf[j]!)) j++;
    while (j < end && !isBlank(buf[j]!)) j++;
    if (++fields === 3) return j;
  }
  return end;
}

export function placeChunk(chunk: Uint8Array, partition: LinePartition, sortUniq: boolean): ChunkPlaces {
  const count = countLines(chunk);
  const places = new Uint8Array(count);
  const ends = new Uint32Array(count * 3);
  // One native scan instead of a test per line: ASCII lines use the rules' faster form.
  const allAscii = isAscii(chunk);
  const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  let start = 0;
  for (let i = 0; i < count; i++) {
    let end = buf.indexOf(0x0a, start);
    if (end === -1) end = buf.length;
    const textEnd = textEndOf(buf, start, end);
    const keyEnd = keyEndOf(buf, start, end, sortUniq);
    const text = buf.toString(allAscii ? 'latin1' : 'utf8', start, textEnd);
    const place = partition.placeOf(text, allAscii || undefined);
    places[i] = place === 'drop' ? PLACE_DROP : place === 'system' ? PLACE_SYSTEM : PLACE_CANDIDATE;
    ends[i * 3] = end;
    ends[i * 3 + 1] = textEnd;
    ends[i * 3 + 2] = keyEnd;
    start = end + 1;
  }
  return { count, places, ends };
}
