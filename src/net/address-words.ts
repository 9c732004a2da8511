/**
 * @module net/address-words
 * An address as four unsigned 32-bit words, the form the packet path works in so that a flood
 * allocates no strings: IPv6 as its 128 bits, IPv4 as its IPv4-mapped IPv6 form (::ffff:a.b.c.d),
 * so one key holds both families and a mapped packet address is the same key as its IPv4 text (as
 * `net/address.canonicalAddress` makes them the same text). Parsing from canonical text and
 * formatting back to it, without allocating on the parse side.
 */

/** Word 2 of an IPv4-mapped address. */
const MAPPED = 0xffff;

/** Is the address in `words` (at `at`) IPv4 (IPv4-mapped)? */
export function isV4Words(words: Uint32Array, at = 0): boolean {
  return words[at] === 0 && words[at + 1] === 0 && words[at + 2] === MAPPED;
}

/** Writes an IPv4 address (an unsigned 32-bit integer) into `out` in its mapped form. */
export function setV4Words(out: Uint32Array, value: number): void {
  out[0] = 0;
  out[1] = 0;
  out[2] = MAPPED;
  out[3] = value >>> 0;
}

/** A canonical dotted quad as an unsigned 32-bit integer. */
export function ipv4ToInt(address: string): number {
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

const GROUPS = new Uint16Array(8);

/**
 * The eight 16-bit groups of canonical IPv6 text (RFC 5952: hex groups, at most one `::`, no dotted
 * tail) into `out` as four 32-bit words, without allocating; false if the text is not of that form.
 */
export function ipv6Words(text: string, out: Uint32Array): boolean {
  const groups = GROUPS;
  groups.fill(0);
  let count = 0;
  let gap = -1; // index in `groups` where `::` stands
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 58;
    if (c === 58) {
      if (digits > 0) {
        if (count === 8) return false;
        groups[count++] = value;
        value = 0;
        digits = 0;
      } else if (i === text.length ? gap !== count : i !== 0) {
        return false; // an empty group that is not part of `::`
      }
      if (i + 1 < text.length && text.charCodeAt(i + 1) === 58) {
        if (gap >= 0) return false;
        gap = count;
        i++;
      }
      continue;
    }
    const hex = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (hex < 0 || digits === 4) return false;
    value = value * 16 + hex;
    digits++;
  }
  if (gap >= 0) {
    if (count > 7) return false;
    const tail = count - gap;
    for (let k = 0; k < tail; k++) {
      groups[7 - k] = groups[count - 1 - k] ?? 0;
      groups[count - 1 - k] = 0;
    }
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  } else if (count !== 8) {
    return false;
  }
  for (let w = 0; w < 4; w++) out[w] = (((groups[2 * w] ?? 0) << 16) | (groups[2 * w + 1] ?? 0)) >>> 0;
  return true;
}

/** Canonical text (net/address canonicalAddress) into `out`; false if it is neither family's form. */
export function wordsOfCanonical(canonical: string, out: Uint32Array): boolean {
  if (canonical.includes(':')) return ipv6Words(canonical, out);
  setV4Words(out, ipv4ToInt(canonical));
  return true;
}

const DECIMAL: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function ipv4Text(value: number): string {
  return (
    DECIMAL[value >>> 24]! +
    '.' +
    DECIMAL[(value >>> 16) & 255]! +
    '.' +
    DECIMAL[(value >>> 8) & 255]! +
    '.' +
    DECIMAL[value & 255]!
  );
}

/** The 16-bit group `g` (0..7) of the address at `at`. */
function group(words: Uint32Array, at: number, g: number): number {
  const word = words[at + (g >> 1)]!;
  return g & 1 ? word & 0xffff : word >>> 16;
}

/**
 * Canonical text of the address in `words` (at `at`): IPv4-mapped addresses as their dotted quad,
 * others as RFC 5952 text (lower-case hex groups without leading zeros, the longest run of two or
 * more zero groups, the first of equal runs, written `::`).
 */
export function addressText(words: Uint32Array, at = 0): string {
  if (isV4Words(words, at)) return ipv4Text(words[at + 3]!);
  let bestStart = -1;
  let bestLength = 1; // a run must be longer than this to be compressed
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    if (group(words, at, g) === 0) {
      if (runStart < 0) runStart = g;
      if (g - runStart + 1 > bestLength) {
        bestStart = runStart;
        bestLength = g - runStart + 1;
      }
    } else {
      runStart = -1;
    }
  }
  let text = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      text += g === 0 ? '::' : ':';
      g += bestLength - 1;
      continue;
    }
    const value = group(words, at, g);
    text += value < 256 ? HEX[value]! : HEX[value >>> 8]! + HEX2[value & 255]!;
    if (g < 7) text += ':';
  }
  return text;
}
