/**
 * @module decide/never-block
 * The addresses portsnare never acts on, and why: the ignore file, the host's own addresses, its
 * default gateways and resolvers. Builds the detector's lists from them and re-reads the host's
 * addresses when asked (the daemon asks every few seconds and at SIGHUP; replay gives fixed ones).
 * It does not decide when to re-read, nor tell the sensors and the detector (daemon/housekeeping).
 */
import type { IgnoreFile } from '../config/ignore-file.ts';
import type { DetectorLists, IgnoreReason } from '../detect/detector.ts';
import { CidrSet } from '../net/cidr-set.ts';
import { hostAddresses, ownAddressSet } from '../net/host-addresses.ts';
import { protectedHosts } from '../net/protected-hosts.ts';

/** Where the host's addresses come from (the live host by default). */
export interface HostAddressSource {
  addresses(): string[];
  /** Default gateways and resolvers. */
  guarded(): string[];
}

export const LIVE_HOST: HostAddressSource = { addresses: hostAddresses, guarded: () => protectedHosts() };

const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join(' ') === [...b].sort().join(' ');

export class NeverBlock {
  #ignore: IgnoreFile;
  #addresses: string[];
  #guarded: string[];
  readonly #source: HostAddressSource;

  constructor(ignore: IgnoreFile, source: HostAddressSource = LIVE_HOST) {
    this.#ignore = ignore;
    this.#source = source;
    this.#addresses = source.addresses();
    this.#guarded = source.guarded();
  }

  /** The host's own addresses, as last read. */
  get addresses(): readonly string[] {
    return this.#addresses;
  }

  get guarded(): readonly string[] {
    return this.#guarded;
  }

  get ignore(): IgnoreFile {
    return this.#ignore;
  }

  set ignore(ignore: IgnoreFile) {
    this.#ignore = ignore;
  }

  /** The detector's never-act-on lists. */
  lists(): DetectorLists {
    const set = new CidrSet();
    for (const entry of this.#ignore.entries) set.add(entry.cidr);
    return { ignore: set, own: ownAddressSet([...this.#addresses, ...this.#guarded]) };
  }

  /** The text of "Not blocking host X: because ...". */
  reason(address: string, why: IgnoreReason): string {
    if (why === 'ignore-list') return 'it is on the ignore list';
    if (this.#guarded.includes(address)) return 'it is a default gateway or a resolver of this host';
    return 'it is an address of this host';
  }

  /** Reads the host's addresses, gateways and resolvers again; true if they changed. */
  reread(): boolean {
    const addresses = this.#source.addresses();
    const guarded = this.#source.guarded();
    const changed = !same(addresses, this.#addresses) || !same(guarded, this.#guarded);
    this.#addresses = addresses;
    this.#guarded = guarded;
    return changed;
  }
}
