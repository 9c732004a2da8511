/**
 * @module net/cidr-set
 * A set of addresses and CIDR blocks (IPv4 and IPv6) answering "is this address covered?". Exact
 * host entries are a hash lookup; blocks are checked one by one (ignore lists hold a handful).
 */
import { cidrContains, formatCidr, type Cidr } from './address.ts';

export class CidrSet {
  readonly #hosts = new Set<string>();
  readonly #blocks: Cidr[] = [];

  add(cidr: Cidr): void {
    const full = cidr.family === 4 ? 32 : 128;
    if (cidr.prefix === full) this.#hosts.add(formatCidr(cidr).replace(/\/\d+$/, ''));
    else this.#blocks.push(cidr);
  }

  addAddress(canonical: string): void {
    this.#hosts.add(canonical);
  }

  /** `canonical` must come from canonicalAddress(). */
  has(canonical: string): boolean {
    if (this.#hosts.has(canonical)) return true;
    return this.#blocks.some((block) => cidrContains(block, canonical));
  }

  get size(): number {
    return this.#hosts.size + this.#blocks.length;
  }
}
