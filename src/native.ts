/**
 * @module native
 * The one place that loads portsnare's native addon (native/build/Release/portsnare_native.node)
 * and the typed boundary around it: nothing outside this file sees an untyped addon value.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { ErrorCodes, PortsnareError } from './errors.ts';

/**
 * Called from the event loop for each connection accepted on a trap: `(connFd, peerAddress, peerPort)`,
 * or `(-1, '', 0, errnoName)` when accept4() failed. The callee owns `connFd` and must hand it to
 * `finishConnection` exactly once.
 */
export type NativeConnectionCallback = (
  connFd: number,
  peerAddress: string,
  peerPort: number,
  errorCode?: string,
) => void;

/** A listening socket on 0.0.0.0 or [::] (IPV6_V6ONLY), polled on the event loop until closed. */
export interface NativeTcpTrap {
  /** The listening fd, or -1 once closed. */
  readonly fd: number;
  /** The bound port, as read back with getsockname (so a requested 0 reports the real one). */
  readonly port: number;
  /** Stops polling and closes the listening socket; idempotent. */
  close(): void;
}

export interface NativeTcpTrapConstructor {
  /** Throws a {@link NativeSystemError} if socket/setsockopt/bind/listen fails. */
  new (family: 4 | 6, port: number, backlog: number, onConnection: NativeConnectionCallback): NativeTcpTrap;
}

/**
 * Called from the event loop once per batch: `(batch, count)` with `count` (1..maxBatch) records of
 * `u32 tsSec, u32 tsUsec, u32 caplen, u32 len` (host byte order), `caplen` bytes, zero padding to a
 * multiple of 4. Or, once, `(null, 0, error)` when the capture fails after opening (for example its
 * interface disappeared); it then delivers nothing more and only needs `close()`.
 */
export type NativeBatchCallback = (batch: Buffer | null, count: number, error?: NativeCaptureError) => void;

export interface NativeCaptureOptions {
  snaplen: number;
  bufferSize: number;
  /** false: TPACKET_V3 blocks handed over when full or after `timeoutMs`. */
  immediate: boolean;
  timeoutMs: number;
  maxBatch: number;
}

/** A live, non-promiscuous libpcap capture polled on the event loop until closed. */
export interface NativeCapture {
  /** pcap_datalink: 1 Ethernet, 113 LINUX_SLL ('any'), 276 LINUX_SLL2, ... */
  readonly linkType: number;
  /** pcap_stats. Throws once closed. */
  stats(): { received: number; dropped: number; ifDropped: number };
  /** Compiles and applies a new BPF filter; throws a {@link NativeCaptureError} and keeps the old one. */
  setFilter(filter: string): void;
  /** Stops polling and closes the pcap handle at once; idempotent. */
  close(): void;
}

export interface NativeCaptureConstructor {
  /**
   * Opens `device` in the calling process's network namespace. Throws a {@link NativeCaptureError}
   * if libpcap cannot open it or the filter does not compile, a TypeError/RangeError for bad options.
   */
  new (
    device: string,
    filter: string,
    options: NativeCaptureOptions,
    onBatch: NativeBatchCallback,
  ): NativeCapture;
}

/** libpcap's failures: `code` is a libpcap status name ('PCAP_ERROR', 'PCAP_ERROR_NO_SUCH_DEVICE', ...). */
export interface NativeCaptureError extends Error {
  code: string;
}

/** A capture device from pcap_findalldevs. */
export interface NativeCaptureDevice {
  name: string;
  /** libpcap's PCAP_IF_* bits: 0x1 loopback, 0x2 up, 0x4 running, 0x8 wireless, 0x30 connection status. */
  flags: number;
}

export interface NativeModule {
  TcpTrap: NativeTcpTrapConstructor;
  /** Sends `banner` (if non-empty, one nonblocking best-effort send), then closes `connFd`. */
  finishConnection(connFd: number, banner: Buffer | null): void;
  /**
   * Binds (never listens on) `address`:`port` and closes at once: 'in-use' when a service holds it
   * (TCP: a listener, TIME_WAIT excluded; UDP: any bound socket), 'free', or 'unknown' (not a local
   * address, or another error).
   */
  portInUse(protocol: 'tcp' | 'udp', address: string, port: number): 'in-use' | 'free' | 'unknown';
  /**
   * The credentials the kernel recorded for the peer of a connected unix socket (SO_PEERCRED), or
   * null when `fd` is not one.
   */
  peerCredentials(fd: number): { pid: number; uid: number; gid: number } | null;
  /** Null if libnftables (libnftables.so.1) could be opened, else why not. */
  nftAvailable(): string | null;
  /**
   * Runs nft commands (a script, as `nft -f` reads it) in this process through libnftables, on a
   * worker thread: `json` is `nft -j`, `dryRun` is `nft -c`. Rejects only if the library is missing.
   */
  nftRun(
    json: boolean,
    dryRun: boolean,
    commands: string,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  Capture: NativeCaptureConstructor;
  /** The devices libpcap can open in the calling process's network namespace ('any' included). */
  listDevices(): NativeCaptureDevice[];
}

/** The addon's errors look like Node's system errors: errno is negative, as in Node. */
export interface NativeSystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export function isNativeSystemError(err: unknown): err is NativeSystemError {
  return (
    err instanceof Error &&
    typeof (err as Partial<NativeSystemError>).code === 'string' &&
    typeof (err as Partial<NativeSystemError>).syscall === 'string'
  );
}

// Resolved from this module, which sits at src/ (tsx) or dist/ (compiled): both are one level below
// the package root.
const ADDON_PATH = fileURLToPath(new URL('../native/build/Release/portsnare_native.node', import.meta.url));

let loaded: NativeModule | undefined;

/** Loads the addon once; throws a PortsnareError with code PSN_NATIVE_MISSING if it has not been built. */
export function loadNative(): NativeModule {
  if (loaded) return loaded;
  if (!existsSync(ADDON_PATH)) {
    throw new PortsnareError(
      ErrorCodes.NATIVE_MISSING,
      `portsnare native addon not found at ${ADDON_PATH}; build it with \`npm ci\` ` +
        '(or `npm run install` in an existing checkout)',
    );
  }
  const require = createRequire(import.meta.url);
  loaded = require(ADDON_PATH) as NativeModule;
  return loaded;
}
