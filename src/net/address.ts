/**
 * @module net/address
 * IP addresses as portsnare handles them: strict validation to one canonical text form (the only form
 * that may reach a log line, a file or a command), and CIDR blocks with correct masking for every
 * prefix length from /0 to /32 (IPv4) or /128 (IPv6).
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

/**
 * The canonical text of an address, or null if `text` is not exactly one IPv4 or IPv6 address.
 * IPv4 must be a full dotted quad without leading zeros (no `10/8` or `1.2.3` shorthand); IPv4-mapped
 * IPv6 (`::ffff:1.2.3.4`) becomes the IPv4 address; IPv6 becomes RFC 5952 text (lower case,
 * compressed). Zone ids (`fe80::1%eth0`) are rejected.
 */
export function canonicalAddress(text: string): string | null {
  const family = isIP(text);
  if (family === 4) return text;
  if (family !== 6 || text.includes('%')) return null;
  const parsed = ipaddr.IPv6.parse(hexTail(text));
  if (parsed.isIPv4MappedAddress()) return parsed.toIPv4Address().toString();
  return parsed.toRFC5952String();
}

/**
 * Rewrites a dotted-quad tail (`::1.2.3.4`, `::ffff:1.2.3.4`) as two hex groups: ipaddr.js reads
 * the IPv4-compatible form `::1.2.3.4` as if it were IPv4-mapped, which would blame an IPv6 peer's
 * packets on an unrelated IPv4 host.
 */
function hexTail(text: string): string {
  return text.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) => {
    const hex = (hi: string, lo: string) => ((Number(hi) << 8) | Number(lo)).toString(16);
    return `${hex(a, b)}:${hex(c, d)}`;
  });
}

export function familyOf(canonical: string): Family {
  return canonical.includes(':') ? 6 : 4;
}

export interface Cidr {
  family: Family;
  /** Network bytes, already masked to `prefix`. */
  bytes: Uint8Array;
  prefix: number;
}

export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; reason: string };

function bytesOf(canonical: string): Uint8Array {
  return Uint8Array.from(ipaddr.parse(canonical).toByteArray());
}

function mask(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = bits === 0 ? 0 : (bytes[i] ?? 0) & (0xff << (8 - bits));
  }
  return out;
}

/**
 * Parses `ADDRESS` or `ADDRESS/BITS`; host bits are masked off (so `10.0.0.77/24` means 10.0.0.0/24).
 * An IPv4-mapped address (`::ffff:a.b.c.d`) takes an IPv6 prefix length, 96 to 128, and becomes the
 * IPv4 block of 96 fewer bits (portsnare sees mapped peers as IPv4): `::ffff:0:0/96` is every IPv4
 * address, `::ffff:10.99.1.0/120` is 10.99.1.0/24. A mapped address with a prefix below 96 is refused
 * (as IPv6 it would cover far more than the IPv4 block it looks like; `::ffff:10.99.1.0/24` is ::/24).
 */
export function parseCidr(text: string): CidrParse {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = canonicalAddress(addressText);
  if (address === null) return { ok: false, reason: `"${addressText}" is not an IPv4 or IPv6 address` };
  const family = familyOf(address);
  const mapped = family === 4 && addressText.includes(':');
  const max = family === 4 && !mapped ? 32 : 128;
  let prefix = family === 4 ? 32 : 128;
  if (slash >= 0) {
    const bitsText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) {
      return { ok: false, reason: `invalid netmask "/${bitsText}" (expected /0 to /${max})` };
    }
    prefix = Number(bitsText);
    if (mapped) {
      if (prefix < 96) {
        return {
          ok: false,
          reason: `"${text}": an IPv4-mapped address takes a prefix of /96 to /128 (as IPv6 this is a /${prefix}, far more than the IPv4 block); write ${address}/${Math.min(prefix, 32)} or ${addressText}/${96 + Math.min(prefix, 32)}`,
        };
      }
      prefix -= 96;
    }
  }
  return { ok: true, cidr: { family, bytes: mask(bytesOf(address), prefix), prefix } };
}

export function cidrContains(cidr: Cidr, canonical: string): boolean {
  if (familyOf(canonical) !== cidr.family) return false;
  const masked = mask(bytesOf(canonical), cidr.prefix);
  for (let i = 0; i < masked.length; i++) if (masked[i] !== cidr.bytes[i]) return false;
  return true;
}

export function formatCidr(cidr: Cidr): string {
  const address =
    cidr.family === 4
      ? Array.from(cidr.bytes).join('.')
      : ipaddr.fromByteArray(Array.from(cidr.bytes)).toString();
  return `${address}/${cidr.prefix}`;
}
