/**
 * @module decide/never-block
 * The addresses portsnare never acts on, and why: the ignore file, the host's own addresses, its
 * default gateways and resolvers, and addresses that cannot be a real peer (broadcast, multicast,
 * reserved, link-local, the own subnets' network and broadcast addresses: net/unicast). Builds the detector's lists from them and re-reads the host's
 * addresses when asked (the daemon asks every few seconds and at SIGHUP; replay gives fixed ones).
 * It does not decide when to re-read, nor tell the sensors and the detector (daemon/housekeeping).
 */
import type { IgnoreFile } from '../config/ignore-file.ts';
import type { DetectorLists, IgnoreReason } from '../detect/detector.ts';
import { hostAddresses, ownAddressSet } from '../net/host-addresses.ts';
import { protectedHosts } from '../net/protected-hosts.ts';
import { interfacePrefixes, nonUnicastReason, type InterfacePrefix } from '../net/unicast.ts';

/** Where the host's addresses come from (the live host by default). */
export interface HostAddressSource {
  addresses(): string[];
  /** Default gateways and resolvers. */
  guarded(): string[];
  /** The host's addresses with their prefix lengths (for its subnets' broadcast addresses). */
  prefixes?(): InterfacePrefix[];
}

export const LIVE_HOST: HostAddressSource = {
  addresses: hostAddresses,
  guarded: () => protectedHosts(),
  prefixes: () => interfacePrefixes(),
};

const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join(' ') === [...b].sort().join(' ');

export class NeverBlock {
  #ignore: IgnoreFile;
  #addresses: string[];
  #guarded: string[];
  #prefixes: InterfacePrefix[];
  readonly #source: HostAddressSource;

  constructor(ignore: IgnoreFile, source: HostAddressSource = LIVE_HOST) {
    this.#ignore = ignore;
    this.#source = source;
    this.#addresses = source.addresses();
    this.#guarded = source.guarded();
    this.#prefixes = source.prefixes?.() ?? [];
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
    return {
      ignore: this.#ignore.set,
      own: ownAddressSet([...this.#addresses, ...this.#guarded]),
      notAPeer: (address) => this.#notAPeer(address) !== null,
    };
  }

  #notAPeer(address: string): string | null {
    return nonUnicastReason(address, { interfaces: this.#prefixes });
  }

  /** The text of "Not blocking host X: because ...". */
  reason(address: string, why: IgnoreReason): string {
    if (why === 'ignore-list') return 'it is on the ignore list';
    if (why === 'not-a-peer') {
      const text = this.#notAPeer(address) ?? 'it cannot be a real peer';
      return text.startsWith(`${address} is `) ? `it is ${text.slice(address.length + 4)}` : text;
    }
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
    this.#prefixes = this.#source.prefixes?.() ?? [];
    return changed;
  }
}
