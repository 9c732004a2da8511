/**
 * @module sensors/socket-table
 * The kernel's table of local sockets, read from /proc/net/{tcp,tcp6,udp,udp6}: which ports have a
 * service on which local addresses. Advanced mode (-atcp/-audp) uses it twice: at startup to leave
 * out the ports where something listens (servedPorts), and before each hit to ask whether a service
 * is there for that packet's destination address and port now (isServed, PortSentry's "Smart-Verify").
 * Owns: parsing the /proc text and answering those two questions. Not: deciding what a hit is,
 * exclusion lists from the config, logging.
 *
 * Why not PortSentry 1.2's test bind(): a TCP port in TIME_WAIT fails the bind, so it looked "in use"
 * for about 60 s after a connection closed, and a service bound to one address masked probes to
 * every other address. Here only TCP sockets in LISTEN count, and each socket serves only the
 * address it is bound to (or every address, if bound to the wildcard).
 *
 * The table is that of the network namespace of the process that reads it (/proc/net is a link to
 * /proc/self/net). SO_BINDTODEVICE and VRF bindings are not visible in /proc and are ignored.
 *
 * Cost, measured on the project's machine (Debian 12, kernel 6.18, Node 20, 2 vCPU) in a network
 * namespace of its own, median of 100 reads:
 *   - no sockets at all: refresh() 8 ms, nearly all of it the kernel walking its TCP hash table to
 *     print tcp and tcp6 (shared by all namespaces and sized at boot from the memory, so this floor
 *     does not depend on how many sockets there are); the two UDP files take 0.2 ms;
 *   - 10,000 sockets (2,500 in each file: TCP listeners, bound UDP sockets): refresh() 54 ms, of
 *     which parsing is 3 ms; re-reading only TCP 24 ms, only UDP 30 ms;
 *   - 10,000 established TCP sockets: refresh() 40 ms (parsing 3 ms).
 * So the cost is the kernel's, not ours. A query re-reads only its own protocol's two files, at most
 * once per minRefreshMs (default 50): under a flood of probes that is at most 20 re-reads a second,
 * which on a host with 10,000 sockets keeps the event loop busy a third to a half of the time. Between re-reads
 * isServed is a canonicalAddress call plus a Map and a Set lookup (about 0.1 µs).
 */

import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';

import { canonicalAddress, familyOf } from '../net/address.ts';
import { addressText } from '../net/address-words.ts';

export type SocketProtocol = 'tcp' | 'udp';

export interface LocalSocket {
  protocol: SocketProtocol;
  /** The family of `address`: an IPv4-mapped address from tcp6/udp6 (`::ffff:a.b.c.d`) is family 4. */
  family: 4 | 6;
  /** Canonical text (see canonicalAddress); `0.0.0.0` or `::` for a socket bound to the wildcard. */
  address: string;
  port: number;
}

const TCP_LISTEN = 0x0a;
const WILDCARD = { 4: '0.0.0.0', 6: '::' } as const;
/** Where each byte of a u32 word starts in its 8 hex digits, in network order (see decodeAddress). */
const WORD_BYTE_OFFSETS = endianness() === 'LE' ? [6, 4, 2, 0] : [0, 2, 4, 6];

/** One data line: `sl: local_address rem_address st ...`, local_address being `HEXADDR:HEXPORT`. */
const LINE = /^\s*\d+:\s+([0-9A-Fa-f]+):([0-9A-Fa-f]{4})\s+\S+\s+([0-9A-Fa-f]{2})(?:\s|$)/;

/**
 * Parses /proc/net/{tcp,tcp6,udp,udp6} text: TCP sockets in LISTEN state (st 0A) only — TIME_WAIT
 * and every other state do not count; UDP: every socket with a local port (bound). The header line
 * and any line that does not parse (wrong address length for `family`, port 0, garbage) are skipped;
 * it never throws.
 */
export function parseProcNet(text: string, protocol: SocketProtocol, family: 4 | 6): LocalSocket[] {
  const hexLength = family === 4 ? 8 : 32;
  // Few distinct local addresses, many sockets: decode each address text once.
  const decoded = new Map<string, string | null>();
  const sockets: LocalSocket[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, hexAddress = '', hexPort = '', hexState = ''] = m;
    if (hexAddress.length !== hexLength) continue;
    if (protocol === 'tcp' && Number.parseInt(hexState, 16) !== TCP_LISTEN) continue;
    const port = Number.parseInt(hexPort, 16);
    if (port === 0) continue;
    let address = decoded.get(hexAddress);
    if (address === undefined) {
      address = decodeAddress(hexAddress);
      decoded.set(hexAddress, address);
    }
    if (address === null) continue;
    sockets.push({ protocol, family: familyOf(address), address, port });
  }
  return sockets;
}

/**
 * /proc/net prints an address as its u32 words in host byte order: on a little-endian host IPv4 is
 * one reversed word (`0100007F` is 127.0.0.1), IPv6 four of them (`B80D0120 00000000 00000000
 * 01000000` is 2001:db8::1). On a big-endian host (s390x) the text is already in network order.
 */
function decodeAddress(hex: string): string | null {
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    for (const i of WORD_BYTE_OFFSETS) bytes.push(Number.parseInt(hex.slice(word + i, word + i + 2), 16));
  }
  if (bytes.length === 4) return canonicalAddress(bytes.join('.'));
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return canonicalAddress(groups.join(':'));
}

const FILES: Record<SocketProtocol, readonly { name: string; family: 4 | 6 }[]> = {
  tcp: [
    { name: 'tcp', family: 4 },
    { name: 'tcp6', family: 6 },
  ],
  udp: [
    { name: 'udp', family: 4 },
    { name: 'udp6', family: 6 },
  ],
};

export interface SocketTableOptions {
  /** Default '/proc'; tests point it at a directory holding net/tcp, net/tcp6, net/udp, net/udp6. */
  procRoot?: string;
  /** A query re-reads its protocol's half of the table once that half is at least this old. Default 50. */
  minRefreshMs?: number;
  /** Milliseconds on any monotonic scale. Default performance.now. */
  now?: () => number;
}

/** One protocol's half of the table: port -> the local addresses with a socket there. */
interface Half {
  served: Map<number, Set<string>>;
  readAt: number;
}

export class SocketTable {
  readonly #procRoot: string;
  readonly #minRefreshMs: number;
  readonly #now: () => number;
  // TCP and UDP are read and aged separately: a UDP scan need not pay for re-reading the TCP files,
  // which are the expensive ones even when nearly empty (see the cost note at the top).
  readonly #halves: Record<SocketProtocol, Half> = {
    tcp: { served: new Map(), readAt: -Infinity },
    udp: { served: new Map(), readAt: -Infinity },
  };
  #refreshes = 0;

  /** Reads the table once, so an unreadable /proc shows at startup rather than at the first packet. */
  constructor(opts: SocketTableOptions = {}) {
    this.#procRoot = opts.procRoot ?? '/proc';
    this.#minRefreshMs = opts.minRefreshMs ?? 50;
    this.#now = opts.now ?? (() => performance.now());
    this.refresh();
  }

  /** How many times the table, or one protocol's half of it, has been read (the constructor's read is 1). */
  get refreshes(): number {
    return this.#refreshes;
  }

  /**
   * Re-reads the four files synchronously. A missing file (no IPv6 in this kernel) is an empty list;
   * any other read error (EACCES, EIO) throws and leaves the previous table in place.
   */
  refresh(): void {
    const tcp = this.#read('tcp');
    const udp = this.#read('udp');
    this.#halves.tcp = tcp;
    this.#halves.udp = udp;
    this.#refreshes++;
  }

  /**
   * Is a service there for a packet to (destination, port)? Re-reads this protocol's two files first
   * if they were read minRefreshMs ago or longer. A socket on the wildcard of its family serves every destination of that family, one
   * on a specific address serves only that address (a service on 127.0.0.1:25 does not mask probes to
   * 10.0.0.1:25). A socket on `::` also serves IPv4: /proc does not show IPV6_V6ONLY, and with the
   * Linux default (net.ipv6.bindv6only=0) such a socket is dual-stack, so we err on the side of "a
   * service is there" rather than report its clients as scanners.
   */
  isServed(
    protocol: SocketProtocol,
    destination: string | Uint32Array,
    port: number,
    maxAgeMs = this.#minRefreshMs,
  ): boolean {
    const addresses = this.#fresh(protocol, maxAgeMs).served.get(port);
    if (!addresses) return false;
    // The packet path passes words (net/address-words): text is made only for a port in use.
    const address =
      typeof destination === 'string'
        ? (canonicalAddress(destination) ?? destination)
        : addressText(destination);
    if (addresses.has(address) || addresses.has(WILDCARD[6])) return true;
    return familyOf(address) === 4 && addresses.has(WILDCARD[4]);
  }

  /** Ports below `limit` with a listener on any address, ascending, for the startup lines. */
  servedPorts(protocol: SocketProtocol, limit: number): number[] {
    const ports = [...this.#fresh(protocol).served.keys()].filter((port) => port < limit);
    return ports.sort((a, b) => a - b);
  }

  /** `maxAgeMs` lets a caller ask for a fresher view than minRefreshMs (to confirm an alert). */
  #fresh(protocol: SocketProtocol, maxAgeMs = this.#minRefreshMs): Half {
    if (this.#now() - this.#halves[protocol].readAt >= maxAgeMs) {
      this.#halves[protocol] = this.#read(protocol);
      this.#refreshes++;
    }
    return this.#halves[protocol];
  }

  #read(protocol: SocketProtocol): Half {
    const served = new Map<number, Set<string>>();
    for (const file of FILES[protocol]) {
      for (const socket of parseProcNet(this.#readFile(file.name), protocol, file.family)) {
        let addresses = served.get(socket.port);
        if (!addresses) served.set(socket.port, (addresses = new Set()));
        addresses.add(socket.address);
      }
    }
    return { served, readAt: this.#now() };
  }

  #readFile(name: string): string {
    try {
      return readFileSync(join(this.#procRoot, 'net', name), 'latin1');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw err;
    }
  }
}
