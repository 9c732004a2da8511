/**
 * @module net/cidr-set
 * A set of addresses and CIDR blocks (IPv4 and IPv6) answering "is this address covered?". Exact
 * host entries are a hash lookup; IPv4 blocks are compared as 32-bit integers (this runs for every
 * probe, so no parsing library on that path); IPv6 blocks byte by byte. Ignore lists hold a handful.
 */
import { cidrContains, formatCidr, type Cidr } from './address.ts';

/** A canonical dotted quad as an unsigned 32-bit integer. */
function ipv4ToInt(address: string): number {
  let value = 0;
  let octet = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 46) {
      value = value * 256 + octet;
      octet = 0;
    } else octet = octet * 10 + (c - 48);
  }
  return value * 256 + octet;
}

export class CidrSet {
  readonly #hosts = new Set<string>();
  readonly #v4: { network: number; mask: number }[] = [];
  readonly #v6: Cidr[] = [];

  add(cidr: Cidr): void {
    const full = cidr.family === 4 ? 32 : 128;
    if (cidr.prefix === full) {
      this.#hosts.add(formatCidr(cidr).replace(/\/\d+$/, ''));
    } else if (cidr.family === 4) {
      const mask = cidr.prefix === 0 ? 0 : (0xffffffff << (32 - cidr.prefix)) >>> 0;
      const bytes = cidr.bytes;
      const network =
        (((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)) >>> 0;
      this.#v4.push({ network, mask });
    } else {
      this.#v6.push(cidr);
    }
  }

  addAddress(canonical: string): void {
    this.#hosts.add(canonical);
  }

  /** `canonical` must come from canonicalAddress(). */
  has(canonical: string): boolean {
    if (this.#hosts.has(canonical)) return true;
    if (canonical.includes(':')) return this.#v6.some((block) => cidrContains(block, canonical));
    if (this.#v4.length === 0) return false;
    const value = ipv4ToInt(canonical);
    return this.#v4.some((block) => (value & block.mask) >>> 0 === block.network);
  }

  get size(): number {
    return this.#hosts.size + this.#v4.length + this.#v6.length;
  }
}
