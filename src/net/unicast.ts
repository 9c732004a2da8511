/**
 * @module net/unicast
 * Which addresses portsnare must never act on because they cannot be a real peer: the limited
 * broadcast 255.255.255.255, multicast (224.0.0.0/4, ff00::/8), the unspecified addresses (0.0.0.0,
 * ::), "this network" 0.0.0.0/8, reserved 240.0.0.0/4, link-local (169.254.0.0/16, fe80::/10, unless
 * allowed), and the network and broadcast addresses of the host's own IPv4 subnets (the
 * subnet-router anycast address of its IPv6 ones). A forged probe from any of them must not become a
 * ban, and `block` refuses them. IPv4-mapped IPv6 is judged as the IPv4 address it maps.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { canonicalAddress, familyOf, parseCidr } from './address.ts';

export type NonUnicastClass =
  | 'invalid'
  | 'broadcast'
  | 'multicast'
  | 'unspecified'
  | 'this-network'
  | 'reserved'
  | 'link-local'
  | 'subnet-network'
  | 'subnet-broadcast';

export type AddressClass = { unicast: true } | { unicast: false; class: NonUnicastClass; reason: string };

/** One address of the host with its prefix length, as `ip addr` shows it (`10.0.2.15/24`). */
export interface InterfacePrefix {
  address: string;
  prefix: number;
  /** Interface name, for the reason text. */
  name?: string;
}

export interface UnicastOptions {
  /** Link-local sources may be acted on (a LAN-only host that wants to ban fe80:: neighbours). */
  allowLinkLocal?: boolean;
  /** The host's own addresses and prefixes (see interfacePrefixes()). */
  interfaces?: readonly InterfacePrefix[];
}

function v4Int(canonical: string): number {
  const p = canonical.split('.').map(Number);
  return (((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0;
}

function v6Bytes(canonical: string): Uint8Array | null {
  const parsed = parseCidr(canonical);
  return parsed.ok ? parsed.cidr.bytes : null;
}

const no = (cls: NonUnicastClass, reason: string): AddressClass => ({ unicast: false, class: cls, reason });

/** Classifies `text` (any IPv4 or IPv6 spelling canonicalAddress accepts). */
export function classifyAddress(text: string, opts: UnicastOptions = {}): AddressClass {
  const address = canonicalAddress(text);
  if (address === null) return no('invalid', `"${text}" is not an IPv4 or IPv6 address`);
  if (familyOf(address) === 4) {
    const n = v4Int(address);
    if (n === 0xffffffff) return no('broadcast', `${address} is the limited broadcast address`);
    if (n === 0) return no('unspecified', `${address} is the unspecified address`);
    if (n >>> 24 === 0) return no('this-network', `${address} is in 0.0.0.0/8 ("this network")`);
    if (n >>> 28 === 0xe) return no('multicast', `${address} is multicast (224.0.0.0/4)`);
    if (n >>> 28 === 0xf) return no('reserved', `${address} is reserved (240.0.0.0/4)`);
    if (n >>> 16 === 0xa9fe && !opts.allowLinkLocal) {
      return no('link-local', `${address} is link-local (169.254.0.0/16)`);
    }
  } else {
    const bytes = v6Bytes(address);
    if (!bytes) return no('invalid', `"${text}" is not an IPv4 or IPv6 address`);
    if (bytes.every((b) => b === 0)) return no('unspecified', `${address} is the unspecified address`);
    if (bytes[0] === 0xff) return no('multicast', `${address} is multicast (ff00::/8)`);
    if (bytes[0] === 0xfe && ((bytes[1] ?? 0) & 0xc0) === 0x80 && !opts.allowLinkLocal) {
      return no('link-local', `${address} is link-local (fe80::/10)`);
    }
  }
  return subnetClass(address, opts.interfaces ?? []);
}

/** The reason `text` must not be acted on, or null for an ordinary unicast address. */
export function nonUnicastReason(text: string, opts: UnicastOptions = {}): string | null {
  const found = classifyAddress(text, opts);
  return found.unicast ? null : found.reason;
}

function subnetClass(address: string, interfaces: readonly InterfacePrefix[]): AddressClass {
  const family = familyOf(address);
  for (const own of interfaces) {
    const ownAddress = canonicalAddress(own.address);
    if (ownAddress === null || familyOf(ownAddress) !== family) continue;
    const on = own.name ? ` on ${own.name}` : '';
    if (family === 4) {
      // /31 (RFC 3021) and /32 have no network or broadcast address.
      if (!Number.isInteger(own.prefix) || own.prefix < 0 || own.prefix > 30) continue;
      const mask = own.prefix === 0 ? 0 : (0xffffffff << (32 - own.prefix)) >>> 0;
      const network = (v4Int(ownAddress) & mask) >>> 0;
      const broadcast = (network | ~mask) >>> 0;
      const n = v4Int(address);
      const subnet = `${ownAddress}/${own.prefix}${on}`;
      if (n === network) return no('subnet-network', `${address} is the network address of ${subnet}`);
      if (n === broadcast) return no('subnet-broadcast', `${address} is the broadcast address of ${subnet}`);
    } else {
      // /127 (RFC 6164) and /128 have no subnet-router anycast address.
      if (!Number.isInteger(own.prefix) || own.prefix < 1 || own.prefix > 126) continue;
      const net = parseCidr(`${ownAddress}/${own.prefix}`);
      const bytes = v6Bytes(address);
      if (!net.ok || !bytes) continue;
      const masked = parseCidr(`${address}/128`);
      if (masked.ok && masked.cidr.bytes.every((b, i) => b === net.cidr.bytes[i])) {
        return no(
          'subnet-network',
          `${address} is the subnet-router anycast address of ${ownAddress}/${own.prefix}${on}`,
        );
      }
    }
  }
  return { unicast: true };
}

/** The host's addresses with their prefix lengths, from the OS (loopback included). */
export function interfacePrefixes(
  list: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): InterfacePrefix[] {
  const found: InterfacePrefix[] = [];
  for (const [name, infos] of Object.entries(list)) {
    for (const info of infos ?? []) {
      const prefix = Number(info.cidr?.split('/')[1]);
      const address = canonicalAddress(info.address.split('%')[0] ?? '');
      if (address !== null && Number.isInteger(prefix)) found.push({ address, prefix, name });
    }
  }
  return found;
}
