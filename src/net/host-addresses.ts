/**
 * @module net/host-addresses
 * The host's own addresses, read from the OS (not parsed from ifconfig text, which broke Debian's
 * ignore-file builder), plus loopback and the unspecified addresses. portsnare never acts on these.
 */
import { networkInterfaces } from 'node:os';
import { canonicalAddress, parseCidr } from './address.ts';
import { CidrSet } from './cidr-set.ts';

const ALWAYS = ['127.0.0.0/8', '::1/128', '0.0.0.0/32', '::/128'];

export function hostAddresses(): string[] {
  const found = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      const address = canonicalAddress(info.address.split('%')[0] ?? '');
      if (address) found.add(address);
    }
  }
  return [...found].sort();
}

/** The host's own addresses and loopback as a CidrSet. */
export function ownAddressSet(addresses: readonly string[] = hostAddresses()): CidrSet {
  const set = new CidrSet();
  for (const text of ALWAYS) {
    const parsed = parseCidr(text);
    if (parsed.ok) set.add(parsed.cidr);
  }
  for (const address of addresses) set.addAddress(address);
  return set;
}
