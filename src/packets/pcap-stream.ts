/**
 * @module packets/pcap-stream
 * Reads a classic pcap file from disk as a stream of records, in bounded memory: one read buffer and
 * at most one record (never more than MAX_RECORD_BYTES) at a time, so a 1.2 GB capture costs what a
 * small one does and `/dev/zero` is refused after 24 bytes instead of filling memory. What
 * `readPcap` (packets/pcap-file) reads from a buffer, this reads from a file, with the same header
 * rules; unlike it, a record it cannot read is not silently the end: the stream stops there and
 * `problem()` says what was wrong and where, for the caller to report.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { parsePcapHeader, PCAP_GLOBAL_HEADER, PCAP_RECORD_HEADER, type PcapPacket } from './pcap-file.ts';

/**
 * Largest captured length a record may have: libpcap's MAXIMUM_SNAPLEN (262144). A larger one is not
 * a packet but a damaged or foreign file (libpcap refuses it too).
 */
export const MAX_RECORD_BYTES = 262_144;

const READ_CHUNK = 1024 * 1024;

/** Why reading stopped before the end of the file. */
export interface PcapProblem {
  /** Byte offset of the record that could not be read. */
  offset: number;
  /** The record's number, counting from 1. */
  record: number;
  reason: string;
}

export interface PcapStream {
  linkType: number;
  snaplen: number;
  /** Every record up to the end or the first unreadable one. Iterate once. */
  packets: AsyncIterable<PcapPacket>;
  /** After iterating: what stopped the reading early, or null when the file ended cleanly. */
  problem(): PcapProblem | null;
}

class ChunkReader {
  #buf = Buffer.alloc(0);
  #start = 0;
  #position = 0;
  #eof = false;

  constructor(private readonly file: FileHandle) {}

  /** Bytes read from the file so far that were consumed. */
  get offset(): number {
    return this.#position - (this.#buf.length - this.#start);
  }

  /** Ensures `n` unread bytes are buffered; false when the file ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.#buf.length - this.#start < n && !this.#eof) {
      const rest = this.#buf.subarray(this.#start);
      const chunk = Buffer.allocUnsafe(Math.max(READ_CHUNK, n));
      const { bytesRead } = await this.file.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) this.#eof = true;
      this.#position += bytesRead;
      this.#buf = Buffer.concat([rest, chunk.subarray(0, bytesRead)]);
      this.#start = 0;
    }
    return this.#buf.length - this.#start >= n;
  }

  available(): number {
    return this.#buf.length - this.#start;
  }

  /** The next `n` buffered bytes (valid until the next fill). */
  take(n: number): Buffer {
    const out = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }
}

/** Opens `path` and reads its pcap header; throws PCAP_FORMAT if it is not a classic pcap file. */
export async function openPcapStream(path: string): Promise<PcapStream> {
  const file = await open(path, 'r');
  const reader = new ChunkReader(file);
  let header;
  try {
    // A short file reaches parsePcapHeader short, which says so.
    await reader.fill(PCAP_GLOBAL_HEADER);
    header = parsePcapHeader(reader.take(Math.min(PCAP_GLOBAL_HEADER, reader.available())));
  } catch (err) {
    await file.close();
    throw err;
  }
  const { u32, nanoseconds } = header;
  let problem: PcapProblem | null = null;
  let record = 0;
  async function* packets(): AsyncGenerator<PcapPacket> {
    try {
      for (;;) {
        const offset = reader.offset;
        record++;
        if (!(await reader.fill(PCAP_RECORD_HEADER))) {
          const left = reader.available();
          if (left > 0)
            problem = { offset, record, reason: `the file ends inside a record header (${left} byte(s))` };
          return;
        }
        const head = reader.take(PCAP_RECORD_HEADER);
        const seconds = u32(head, 0);
        const fraction = u32(head, 4);
        const includedLength = u32(head, 8);
        const originalLength = u32(head, 12);
        if (includedLength > MAX_RECORD_BYTES) {
          problem = {
            offset,
            record,
            reason: `captured length ${includedLength} is larger than any packet (${MAX_RECORD_BYTES}): not a pcap record`,
          };
          return;
        }
        if (!(await reader.fill(includedLength))) {
          problem = {
            offset,
            record,
            reason: `the file ends inside the record (${reader.available()} of ${includedLength} byte(s))`,
          };
          return;
        }
        const micros = nanoseconds ? Math.floor(fraction / 1000) : fraction;
        yield {
          timestampUs: seconds * 1_000_000 + micros,
          data: reader.take(includedLength),
          originalLength,
        };
      }
    } finally {
      await file.close();
    }
  }
  return {
    linkType: header.linkType,
    snaplen: header.snaplen,
    packets: packets(),
    problem: () => problem,
  };
}
