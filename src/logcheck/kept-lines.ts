/**
 * @module logcheck/kept-lines
 * The lines a `portsnare logcheck` run keeps for its report (logcheck/run), in the order of
 * logcheck's batch (logcheck/batch): `sort -k 1,3 -s` (stable, on the bytes up to the end of the
 * third field), or `sort -u` with SORTUNIQ (whole lines, duplicates once).
 *
 * Bytes, not strings: a 105 MB log keeps 700,000 lines, and as one string and one object each they
 * cost 0.8 s of garbage collection and 300 MB of peak RSS (scripts/bench/logcheck.ts, Part 4). The
 * bytes are copied into blocks outside the JS heap, their positions and keys into typed arrays.
 * Bounded: when the lines held reach `memoryBytes`, they are sorted and written to a run file in
 * TMP, and the blocks are used again; the report is then a merge of the runs, read back in order.
 * Memory is the same for any length of log, as the issue asks of a drop-in for logcheck (which
 * itself keeps 3-4 copies of the batch in TMP, logcheck.md §1.12).
 *
 * Sorting compares three numbers first: the key's first 18 bytes, six per number, each byte as
 * byte + 1 (0 past the end of the key), so a smaller number is a smaller key. A byte 0xFF is capped
 * to 255 like 0xFE: a key that holds one, or is longer than 18 bytes, is "inexact", and two keys
 * whose numbers are equal are then compared byte by byte.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyEndOf, textEndOf, type ChunkPlaces } from './line-places.ts';
import type { LineBytes } from './report.ts';

/** 8 MiB: a line is at most 1 MiB (logcheck/log-source), so a block always takes the next one. */
const BLOCK = 8 * 1024 * 1024;
const PACKED = 18;
/** Lines per page of the position and key arrays (pages are never copied as the run grows). */
const PAGE = 1 << 16;
const OUT = 1024 * 1024;

export interface KeptLinesOptions {
  readonly sortUniq: boolean;
  /** Bytes of lines held before they are sorted into a run file (default 32 MiB). */
  readonly memoryBytes?: number;
  /** Where run files go (logcheck's TMP; default the system's). */
  readonly tmpDir?: string;
}

/** `source[start, end)` into `target` at `at`, without a view of the source (a view a line cost 0.3 us). */
function copyBytes(source: Uint8Array, start: number, end: number, target: Uint8Array, at: number): void {
  if (end - start < 64) {
    for (let i = start; i < end; i++) target[at++] = source[i]!;
  } else {
    target.set(new Uint8Array(source.buffer, source.byteOffset + start, end - start), at);
  }
}

/** The key `buf[start, start + keyLength)` as three numbers into `k[at..at+2]`; 1 when exact. */
function packKey(buf: Uint8Array, start: number, keyLength: number, k: Float64Array, at: number): number {
  let exact = keyLength <= PACKED ? 1 : 0;
  for (let part = 0; part < 3; part++) {
    let hi = 0;
    let lo = 0;
    for (let j = part * 6; j < part * 6 + 3; j++) {
      const c = j < keyLength ? buf[start + j]! : -1;
      if (c === 255) exact = 0;
      hi = (hi << 8) | (c === 255 ? 255 : c + 1);
    }
    for (let j = part * 6 + 3; j < part * 6 + 6; j++) {
      const c = j < keyLength ? buf[start + j]! : -1;
      if (c === 255) exact = 0;
      lo = (lo << 8) | (c === 255 ? 255 : c + 1);
    }
    k[at + part] = hi * 0x1000000 + lo;
  }
  return exact;
}

/** Text lines, each with its newline, gathered into buffers of about OUT bytes. */
class OutBuffers {
  #out = Buffer.allocUnsafe(OUT);
  #used = 0;

  /** Appends `source[start, end)` and a newline; returns a full buffer to give out, if any. */
  push(source: Uint8Array, start: number, end: number): Buffer | null {
    const length = end - start;
    let full: Buffer | null = null;
    if (this.#used + length + 1 > this.#out.length) {
      if (this.#used > 0) full = this.#out.subarray(0, this.#used);
      this.#out = Buffer.allocUnsafe(Math.max(OUT, length + 1));
      this.#used = 0;
    }
    copyBytes(source, start, end, this.#out, this.#used);
    this.#used += length;
    this.#out[this.#used++] = 0x0a;
    return full;
  }

  rest(): Buffer | null {
    return this.#used > 0 ? this.#out.subarray(0, this.#used) : null;
  }
}

export class KeptLines {
  readonly #o: KeptLinesOptions;
  readonly #memory: number;
  readonly #blocks: Buffer[] = [];
  #blockIndex = -1;
  #used = 0;
  #held = 0;
  /** Lines held now (since the last run file). */
  #n = 0;
  #total = 0;
  /** Per line, in pages: its block, its start there, raw length, text length, key length. */
  readonly #where: Uint32Array[] = [];
  /** Per line, in pages: the key's first 18 bytes as three numbers. */
  readonly #k: Float64Array[] = [];
  /** Per line, in pages: 1 when sorting on the three numbers alone is right (module comment). */
  readonly #exact: Uint8Array[] = [];
  #dir: string | null = null;
  readonly #runs: string[] = [];

  constructor(options: KeptLinesOptions) {
    this.#o = options;
    this.#memory = options.memoryBytes ?? 32 * 1024 * 1024;
  }

  /** Lines kept so far. */
  get length(): number {
    return this.#total;
  }

  /** Run files written so far. */
  get runs(): number {
    return this.#runs.length;
  }

  /** Keeps line `i` of `placed` (found in `chunk`, starting at byte `start`). */
  add(chunk: Uint8Array, start: number, placed: ChunkPlaces, i: number): void {
    const ends = placed.ends;
    const end = ends[i * 3]!;
    this.#hold(chunk, start, end, ends[i * 3 + 1]! - start, ends[i * 3 + 2]! - start);
  }

  #hold(source: Uint8Array, start: number, end: number, textLength: number, keyLength: number): void {
    const length = end - start;
    if (this.#n > 0 && this.#held + length > this.#memory) this.#spill();
    let block = this.#blocks[this.#blockIndex];
    let at = this.#used;
    if (block === undefined || at + length > block.length) {
      block = this.#blocks[++this.#blockIndex];
      if (block === undefined || block.length < length) {
        block = Buffer.allocUnsafe(Math.max(BLOCK, length));
        this.#blocks[this.#blockIndex] = block;
      }
      at = 0;
    }
    copyBytes(source, start, end, block, at);
    this.#used = at + length;
    this.#held += length;
    const n = this.#n++;
    this.#total++;
    const slot = n & (PAGE - 1);
    const page = n >>> 16;
    if (slot === 0 && this.#where.length === page) {
      this.#where.push(new Uint32Array(5 * PAGE));
      this.#k.push(new Float64Array(3 * PAGE));
      this.#exact.push(new Uint8Array(PAGE));
    }
    const w = this.#where[page]!;
    w[slot * 5] = this.#blockIndex;
    w[slot * 5 + 1] = at;
    w[slot * 5 + 2] = length;
    w[slot * 5 + 3] = textLength;
    w[slot * 5 + 4] = keyLength;
    this.#exact[page]![slot] = packKey(source, start, keyLength, this.#k[page]!, slot * 3);
  }

  /** Line `i`'s bytes (held now): the whole line (2), its text (3) or its key (4). */
  #bytes(i: number, which: 2 | 3 | 4): Buffer {
    const w = this.#where[i >>> 16]!;
    const slot = (i & (PAGE - 1)) * 5;
    const at = w[slot + 1]!;
    return this.#blocks[w[slot]!]!.subarray(at, at + w[slot + which]!);
  }

  /** The held lines' indices, sorted (stable); with SORTUNIQ duplicates once. */
  #order(): number[] {
    const n = this.#n;
    const order = new Array<number>(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const kp = this.#k;
    const ep = this.#exact;
    const keyCompare = (a: number, b: number): number => {
      const ka = kp[a >>> 16]!;
      const kb = kp[b >>> 16]!;
      const sa = (a & (PAGE - 1)) * 3;
      const sb = (b & (PAGE - 1)) * 3;
      return (
        ka[sa]! - kb[sb]! ||
        ka[sa + 1]! - kb[sb + 1]! ||
        ka[sa + 2]! - kb[sb + 2]! ||
        (ep[a >>> 16]![a & (PAGE - 1)]! & ep[b >>> 16]![b & (PAGE - 1)]!
          ? 0
          : Buffer.compare(this.#bytes(a, 4), this.#bytes(b, 4)))
      );
    };
    order.sort((a, b) => keyCompare(a, b) || a - b);
    if (!this.#o.sortUniq) return order;
    // With SORTUNIQ the key is the whole line: equal keys are duplicates.
    return order.filter((i, j) => j === 0 || keyCompare(i, order[j - 1]!) !== 0);
  }

  /** The held lines, sorted, into a run file; the blocks and pages are then used again. */
  #spill(): void {
    this.#dir ??= mkdtempSync(join(this.#o.tmpDir ?? tmpdir(), 'portsnare-logcheck-'));
    const path = join(this.#dir, `run${this.#runs.length}`);
    const fd = openSync(path, 'wx', 0o600);
    try {
      const out = new OutBuffers();
      const write = (b: Buffer | null) => {
        for (let off = 0; b !== null && off < b.length;) off += writeSync(fd, b, off);
      };
      for (const i of this.#order()) {
        const line = this.#bytes(i, 2);
        write(out.push(line, 0, line.length));
      }
      write(out.rest());
    } finally {
      closeSync(fd);
    }
    this.#runs.push(path);
    this.#n = 0;
    this.#held = 0;
    this.#blockIndex = -1;
    this.#used = 0;
  }

  /** The kept lines in report order (no more may be added). */
  sorted(): LineBytes {
    if (this.#runs.length === 0) {
      const order = this.#order();
      return {
        length: order.length,
        chunks: () => this.#texts(order),
        strings: () => order.map((i) => this.#bytes(i, 3).toString('utf8')),
      };
    }
    if (this.#n > 0) this.#spill();
    return {
      // With SORTUNIQ and run files, duplicates across runs are dropped only while merging.
      length: this.#total,
      chunks: () => this.#merge(),
      strings: () => [...this.#merge()].flatMap((b) => b.toString('utf8').split('\n').slice(0, -1)),
    };
  }

  *#texts(order: readonly number[]): Generator<Buffer> {
    const out = new OutBuffers();
    const blocks = this.#blocks;
    for (const i of order) {
      const w = this.#where[i >>> 16]!;
      const slot = (i & (PAGE - 1)) * 5;
      const at = w[slot + 1]!;
      const full = out.push(blocks[w[slot]!]!, at, at + w[slot + 3]!);
      if (full !== null) yield full;
    }
    const rest = out.rest();
    if (rest !== null) yield rest;
  }

  /** The run files merged (a run is sorted, and an earlier run holds earlier lines: stable). */
  *#merge(): Generator<Buffer> {
    const readers = this.#runs.map((path, r) => new RunReader(path, r, this.#o.sortUniq));
    try {
      const heap = readers.filter((r) => r.next());
      const before = (a: RunReader, b: RunReader) => (a.compare(b) || a.run - b.run) < 0;
      const down = (i: number) => {
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
          if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
          if (m === i) return;
          [heap[i], heap[m]] = [heap[m]!, heap[i]!];
          i = m;
        }
      };
      for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
      const out = new OutBuffers();
      let last: Buffer | null = null;
      while (heap.length > 0) {
        const top = heap[0]!;
        const line = top.line();
        const duplicate = this.#o.sortUniq && last !== null && last.equals(line);
        if (!duplicate) {
          const full = out.push(line, 0, textEndOf(line, 0, line.length));
          if (full !== null) yield full;
          if (this.#o.sortUniq) last = Buffer.from(line);
        }
        if (!top.next()) {
          heap[0] = heap[heap.length - 1]!;
          heap.pop();
        }
        down(0);
      }
      const rest = out.rest();
      if (rest !== null) yield rest;
    } finally {
      for (const r of readers) r.close();
    }
  }

  /** Removes the run files. */
  dispose(): void {
    if (this.#dir !== null) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = null;
  }
}

/** One run file read line by line, with the current line's key packed for comparing. */
class RunReader {
  readonly #fd: number;
  #buf = Buffer.allocUnsafe(256 * 1024);
  #start = 0;
  #end = 0;
  #filled = 0;
  #eof = false;
  readonly #k = new Float64Array(3);
  #exact = 0;
  #keyLength = 0;

  constructor(
    path: string,
    readonly run: number,
    readonly sortUniq: boolean,
  ) {
    this.#fd = openSync(path, 'r');
  }

  /** Moves to the next line; false at the end. */
  next(): boolean {
    this.#start = this.#end === 0 && this.#filled === 0 ? 0 : this.#end + 1;
    let nl = this.#buf.indexOf(0x0a, this.#start);
    while (nl === -1 || nl >= this.#filled) {
      if (this.#eof) return false;
      this.#refill();
      nl = this.#buf.indexOf(0x0a, this.#start);
    }
    this.#end = nl;
    this.#keyLength = keyEndOf(this.#buf, this.#start, nl, this.sortUniq) - this.#start;
    this.#exact = packKey(this.#buf, this.#start, this.#keyLength, this.#k, 0);
    return true;
  }

  #refill(): void {
    // Keep the line begun; grow when it fills the buffer.
    const rest = this.#filled - this.#start;
    if (rest === this.#buf.length) {
      const bigger = Buffer.allocUnsafe(this.#buf.length * 2);
      this.#buf.copy(bigger, 0, this.#start, this.#filled);
      this.#buf = bigger;
    } else {
      this.#buf.copy(this.#buf, 0, this.#start, this.#filled);
    }
    this.#start = 0;
    this.#filled = rest;
    const n = readSync(this.#fd, this.#buf, rest, this.#buf.length - rest, null);
    if (n === 0) this.#eof = true;
    this.#filled += n;
  }

  /** The current line, without its newline (valid until next()). */
  line(): Buffer {
    return this.#buf.subarray(this.#start, this.#end);
  }

  compare(other: RunReader): number {
    const a = this.#k;
    const b = other.#k;
    return (
      a[0]! - b[0]! ||
      a[1]! - b[1]! ||
      a[2]! - b[2]! ||
      (this.#exact & other.#exact
        ? 0
        : Buffer.compare(
            this.#buf.subarray(this.#start, this.#start + this.#keyLength),
            other.#buf.subarray(other.#start, other.#start + other.#keyLength),
          ))
    );
  }

  close(): void {
    closeSync(this.#fd);
  }
}
