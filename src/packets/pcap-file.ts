/**
 * @module packets/pcap-file
 * Classic libpcap capture files (not pcapng): reading in either byte order with microsecond or
 * nanosecond timestamps, and writing in microsecond, little-endian form. `writePcap` builds a whole
 * file in memory; `pcapHeader` and `pcapRecord` give the same bytes piece by piece for writers that
 * stream millions of packets.
 *
 * The reader never reads outside the buffer: a record whose header or data runs past the end (a
 * capture cut short while it was written) ends the iteration. Packet data are subarrays of the
 * input buffer, not copies.
 */
import { ErrorCodes, PortsnareError } from '../errors.ts';

export interface PcapPacket {
  /** Capture time in microseconds since the Unix epoch (nanosecond files are rounded down). */
  timestampUs: number;
  /** The captured bytes (at most the snapshot length). */
  data: Uint8Array;
  /** The packet's length on the wire, of which `data` may be a prefix. */
  originalLength: number;
}

export interface PcapFile {
  /** LINKTYPE_ value (the low 16 bits of the header field; the FCS bits above are dropped). */
  linkType: number;
  snaplen: number;
  /** Each iteration reads the file again from the first record. */
  packets: Iterable<PcapPacket>;
}

export const PCAP_GLOBAL_HEADER = 24;
export const PCAP_RECORD_HEADER = 16;
const GLOBAL_HEADER = PCAP_GLOBAL_HEADER;
const RECORD_HEADER = PCAP_RECORD_HEADER;
const MAGIC_MICROSECONDS = 0xa1b2c3d4;
const MAGIC_NANOSECONDS = 0xa1b23c4d;
const MAGIC_PCAPNG = 0x0a0d0d0a;

/** A classic pcap file header, read. */
export interface PcapHeader {
  linkType: number;
  snaplen: number;
  nanoseconds: boolean;
  /** Reads a 32-bit field of this file's byte order. */
  u32: (buf: Buffer, offset: number) => number;
}

/** Reads the 24-byte file header; throws PCAP_FORMAT if `buf` does not start with one. */
export function parsePcapHeader(buf: Buffer): PcapHeader {
  if (buf.length < GLOBAL_HEADER) {
    throw new PortsnareError(
      ErrorCodes.PCAP_FORMAT,
      `not a pcap file: ${buf.length} bytes, shorter than the 24-byte file header`,
    );
  }
  const magicLE = buf.readUInt32LE(0);
  const magicBE = buf.readUInt32BE(0);
  let littleEndian: boolean;
  let nanoseconds: boolean;
  if (magicLE === MAGIC_MICROSECONDS || magicLE === MAGIC_NANOSECONDS) {
    littleEndian = true;
    nanoseconds = magicLE === MAGIC_NANOSECONDS;
  } else if (magicBE === MAGIC_MICROSECONDS || magicBE === MAGIC_NANOSECONDS) {
    littleEndian = false;
    nanoseconds = magicBE === MAGIC_NANOSECONDS;
  } else if (magicBE === MAGIC_PCAPNG) {
    throw new PortsnareError(
      ErrorCodes.PCAP_FORMAT,
      'not a classic pcap file: this is pcapng (convert it with `editcap -F pcap`)',
    );
  } else {
    throw new PortsnareError(
      ErrorCodes.PCAP_FORMAT,
      `not a pcap file: bad magic number 0x${magicBE.toString(16).padStart(8, '0')}`,
    );
  }
  const u32 = littleEndian
    ? (b: Buffer, offset: number) => b.readUInt32LE(offset)
    : (b: Buffer, offset: number) => b.readUInt32BE(offset);
  return { linkType: u32(buf, 20) & 0xffff, snaplen: u32(buf, 16), nanoseconds, u32 };
}

/** Parses a classic pcap file held in memory. Throws PCAP_FORMAT if `buf` does not start with a pcap header. */
export function readPcap(buf: Buffer): PcapFile {
  const { linkType, snaplen, nanoseconds, u32: read } = parsePcapHeader(buf);
  const u32 = (offset: number) => read(buf, offset);
  const packets: Iterable<PcapPacket> = {
    *[Symbol.iterator]() {
      let offset = GLOBAL_HEADER;
      while (offset + RECORD_HEADER <= buf.length) {
        const seconds = u32(offset);
        const fraction = u32(offset + 4);
        const includedLength = u32(offset + 8);
        const originalLength = u32(offset + 12);
        const start = offset + RECORD_HEADER;
        if (includedLength > buf.length - start) return;
        const micros = nanoseconds ? Math.floor(fraction / 1000) : fraction;
        yield {
          timestampUs: seconds * 1_000_000 + micros,
          data: buf.subarray(start, start + includedLength),
          originalLength,
        };
        offset = start + includedLength;
      }
    },
  };
  return { linkType, snaplen, packets };
}

/** The 24-byte file header of a microsecond, little-endian pcap file. */
export function pcapHeader(linkType: number, snaplen = 65535): Buffer {
  const header = Buffer.alloc(GLOBAL_HEADER);
  header.writeUInt32LE(MAGIC_MICROSECONDS, 0);
  header.writeUInt16LE(2, 4); // version 2.4
  header.writeUInt16LE(4, 6);
  // thiszone and sigfigs stay 0
  header.writeUInt32LE(snaplen, 16);
  header.writeUInt32LE(linkType, 20);
  return header;
}

/**
 * One record (16-byte header and the data) for a file started with `pcapHeader`. `data` is written
 * whole: cut it to the snapshot length first if it may be longer.
 */
export function pcapRecord(timestampUs: number, data: Uint8Array, originalLength = data.length): Buffer {
  if (!Number.isSafeInteger(timestampUs) || timestampUs < 0 || timestampUs >= 2 ** 32 * 1_000_000) {
    throw new RangeError(`pcap timestamp out of range: ${timestampUs} µs`);
  }
  const record = Buffer.allocUnsafe(RECORD_HEADER + data.length);
  const seconds = Math.floor(timestampUs / 1_000_000);
  record.writeUInt32LE(seconds, 0);
  record.writeUInt32LE(timestampUs - seconds * 1_000_000, 4);
  record.writeUInt32LE(data.length, 8);
  record.writeUInt32LE(Math.max(originalLength, data.length), 12);
  record.set(data, RECORD_HEADER);
  return record;
}

/** A whole pcap file; packets longer than `snaplen` are cut to it (their original length is kept). */
export function writePcap(
  linkType: number,
  packets: Iterable<{ timestampUs: number; data: Uint8Array; originalLength?: number }>,
  snaplen = 65535,
): Buffer {
  const parts = [pcapHeader(linkType, snaplen)];
  for (const packet of packets) {
    const data = packet.data.length > snaplen ? packet.data.subarray(0, snaplen) : packet.data;
    parts.push(pcapRecord(packet.timestampUs, data, packet.originalLength ?? packet.data.length));
  }
  return Buffer.concat(parts);
}
