/**
 * @module sensors/capture
 * Stealth modes' packet source: a live libpcap capture (the native Capture), non-promiscuous, with a
 * BPF filter, delivering packets to the caller in batches straight from the event loop.
 * Owns: opening, refiltering and closing the capture, its defaults, and splitting the addon's batch
 * buffers into packets. Not: link/IP/TCP decoding, deciding what a packet means, choosing the filter.
 */
import { endianness } from 'node:os';

import { loadNative, type NativeCaptureError } from '../native.ts';

export interface CapturedPacket {
  /** Capture time, microseconds since the epoch. */
  timestampUs: number;
  /** The first `snaplen` bytes at most, from the link header on; a view into the batch buffer. */
  data: Uint8Array;
  /** The packet's length on the wire. */
  originalLength: number;
}

export interface CaptureOptions {
  /** An interface name, or 'any' for all interfaces (link type 113, LINUX_SLL). */
  device: string;
  /** BPF filter text, as tcpdump takes it. */
  filter: string;
  /**
   * Default true: one kernel wakeup per packet, delivery within ~0.1 ms (PortSentry cuts a scanner
   * off 1-4 ms after its first probe). false: TPACKET_V3 blocks, ~10x less CPU under a flood,
   * delivery within `timeoutMs`.
   */
  immediate?: boolean;
  /** Without immediate mode, the longest a packet waits in a ring block. Default 10. */
  timeoutMs?: number;
  /** Bytes kept per packet. Default 128: link + IPv4/IPv6 (+ext headers) + TCP/UDP headers. */
  snaplen?: number;
  /** Kernel ring size in bytes. Default 8 MiB. */
  bufferSize?: number;
  /** Most packets per onPackets call. Default 1024. */
  maxBatch?: number;
  /**
   * One call per batch, synchronous. Each batch is a fresh buffer, so `data` views stay valid, but
   * one kept view keeps its whole batch alive: copy what is kept long. An exception thrown here
   * reaches process 'uncaughtException'.
   */
  onPackets(linkType: number, packets: CapturedPacket[]): void;
  /**
   * Called once if the capture fails after opening (e.g. its interface disappeared); nothing more
   * is delivered, but close() is still needed. Without it the error reaches 'uncaughtException'.
   */
  onError?(err: NativeCaptureError): void;
}

export interface CaptureHandle {
  /** pcap_datalink: 1 Ethernet, 113 LINUX_SLL, 276 LINUX_SLL2, ... */
  readonly linkType: number;
  /** libpcap's counters since opening; throws once closed. */
  stats(): { received: number; dropped: number; ifDropped: number };
  /** Applies a new filter; a filter that does not compile throws and leaves the old one in place. */
  setFilter(filter: string): void;
  /** Closes the capture at once (the process may exit right after); idempotent. */
  close(): void;
}

const DEFAULTS = {
  immediate: true,
  timeoutMs: 10,
  snaplen: 128,
  bufferSize: 8 * 1024 * 1024,
  maxBatch: 1024,
} as const;

const RECORD_HEADER_BYTES = 16;
const readU32: (buffer: Buffer, offset: number) => number =
  endianness() === 'LE' ? (b, o) => b.readUInt32LE(o) : (b, o) => b.readUInt32BE(o);

/**
 * Opens the capture in the calling process's network namespace. Throws the addon's error (`code`
 * 'PCAP_ERROR_NO_SUCH_DEVICE', 'PCAP_ERROR_PERM_DENIED', 'PCAP_ERROR' for a bad filter, ...) if it
 * cannot, or a RangeError for an out-of-range option.
 */
export function openCapture(opts: CaptureOptions): CaptureHandle {
  const native = loadNative();
  const capture = new native.Capture(
    opts.device,
    opts.filter,
    {
      immediate: opts.immediate ?? DEFAULTS.immediate,
      timeoutMs: opts.timeoutMs ?? DEFAULTS.timeoutMs,
      snaplen: opts.snaplen ?? DEFAULTS.snaplen,
      bufferSize: opts.bufferSize ?? DEFAULTS.bufferSize,
      maxBatch: opts.maxBatch ?? DEFAULTS.maxBatch,
    },
    (batch, count, error) => {
      if (error) {
        if (!opts.onError) throw error;
        opts.onError(error);
        return;
      }
      if (batch) opts.onPackets(capture.linkType, Array.from(parseBatch(batch, count)));
    },
  );
  return {
    linkType: capture.linkType,
    stats: () => capture.stats(),
    setFilter: (filter) => capture.setFilter(filter),
    close: () => capture.close(),
  };
}

/**
 * The packets of one addon batch: at most `count` records of `u32 tsSec, u32 tsUsec, u32 caplen,
 * u32 len` (host byte order), `caplen` bytes, zero padding to a multiple of 4. Never reads out of
 * bounds: a truncated record ends the iteration.
 */
export function* parseBatch(buffer: Buffer, count: number): Generator<CapturedPacket> {
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (buffer.length - offset < RECORD_HEADER_BYTES) return;
    const tsSec = readU32(buffer, offset);
    const tsUsec = readU32(buffer, offset + 4);
    const caplen = readU32(buffer, offset + 8);
    const originalLength = readU32(buffer, offset + 12);
    const start = offset + RECORD_HEADER_BYTES;
    if (caplen > buffer.length - start) return;
    yield {
      timestampUs: tsSec * 1_000_000 + tsUsec,
      data: buffer.subarray(start, start + caplen),
      originalLength,
    };
    offset = start + Math.ceil(caplen / 4) * 4;
  }
}
