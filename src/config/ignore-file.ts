/**
 * @module config/ignore-file
 * portsentry.ignore: one IPv4 or IPv6 address per line with an optional /bits suffix, `#` comments
 * (whole-line or trailing). Host bits are masked off, so `10.0.0.77/24` covers 10.0.0.0/24, and /0
 * covers everything (1.2 treated /0 as /32). Lines 1.2 could not use (hostnames, `10/8` shorthand,
 * bad netmasks) are reported with their line number and skipped. IPv4-mapped entries take IPv6
 * prefix lengths (`::ffff:0:0/96` is every IPv4 address; `::ffff:10.99.1.0/24` is refused with the
 * two spellings that mean the IPv4 /24). The entries are kept compactly (about 21 bytes each) and
 * as a ready CidrSet (`set`), so a million-line file costs tens of MB, not hundreds.
 */
import { systemErrorCode } from '../errors.ts';
import { parseCidr, type Cidr } from '../net/address.ts';
import { CidrSet } from '../net/cidr-set.ts';
import type { Diagnostic } from './diagnostic.ts';
import { MAX_IGNORE_FILE_BYTES, readFailure, readRegularFile } from './read-file.ts';

export interface IgnoreEntry {
  cidr: Cidr;
  line: number;
}

export interface IgnoreFile {
  path: string;
  /** Every entry, materialised afresh at each read (use `set` for lookups, `count` for the number). */
  readonly entries: IgnoreEntry[];
  /** Every entry as a CidrSet, ready for lookups. */
  readonly set: CidrSet;
  readonly count: number;
  diagnostics: Diagnostic[];
}

/** Entries packed into typed arrays: 16 address bytes, family, prefix and line number each. */
class PackedEntries {
  #bytes = new Uint8Array(16 * 1024);
  #meta = new Uint8Array(2 * 1024);
  #lines = new Uint32Array(1024);
  count = 0;

  push(cidr: Cidr, line: number): void {
    if (this.count === this.#lines.length) {
      const grow = <T extends Uint8Array | Uint32Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.#bytes = grow(this.#bytes, (n) => new Uint8Array(n));
      this.#meta = grow(this.#meta, (n) => new Uint8Array(n));
      this.#lines = grow(this.#lines, (n) => new Uint32Array(n));
    }
    this.#bytes.set(cidr.bytes, this.count * 16);
    this.#meta[this.count * 2] = cidr.family;
    this.#meta[this.count * 2 + 1] = cidr.prefix;
    this.#lines[this.count] = line;
    this.count++;
  }

  /** Drops the spare capacity once parsing is done. */
  trim(): void {
    this.#bytes = this.#bytes.slice(0, this.count * 16);
    this.#meta = this.#meta.slice(0, this.count * 2);
    this.#lines = this.#lines.slice(0, this.count);
  }

  materialize(): IgnoreEntry[] {
    const out: IgnoreEntry[] = [];
    for (let i = 0; i < this.count; i++) {
      const family = this.#meta[i * 2] === 6 ? 6 : 4;
      out.push({
        cidr: {
          family,
          bytes: this.#bytes.slice(i * 16, i * 16 + (family === 4 ? 4 : 16)),
          prefix: this.#meta[i * 2 + 1] ?? 0,
        },
        line: this.#lines[i] ?? 0,
      });
    }
    return out;
  }
}

function ignoreFile(
  path: string,
  packed: PackedEntries,
  set: CidrSet,
  diagnostics: Diagnostic[],
): IgnoreFile {
  packed.trim();
  set.compact();
  return {
    path,
    diagnostics,
    set,
    get count() {
      return packed.count;
    },
    get entries() {
      return packed.materialize();
    },
  };
}

export function parseIgnoreText(path: string, text: string): IgnoreFile {
  const packed = new PackedEntries();
  const set = new CidrSet();
  const diagnostics: Diagnostic[] = [];
  (text.startsWith('\uFEFF') ? text.slice(1) : text).split('\n').forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/#.*$/, '').trim();
    if (content === '') return;
    if (/\s/.test(content)) {
      diagnostics.push({
        severity: 'warning',
        file: path,
        line,
        message: `"${content}": one address per line; entry skipped`,
      });
      return;
    }
    const parsed = parseCidr(content);
    if (!parsed.ok) {
      diagnostics.push({ severity: 'warning', file: path, line, message: `${parsed.reason}; entry skipped` });
      return;
    }
    if (parsed.cidr.prefix === 0) {
      diagnostics.push({
        severity: 'warning',
        file: path,
        line,
        message: `"${content}" covers every ${parsed.cidr.family === 4 ? 'IPv4' : 'IPv6'} address: no such host will ever be acted on`,
      });
    }
    packed.push(parsed.cidr, line);
    set.add(parsed.cidr);
  });
  return ignoreFile(path, packed, set, diagnostics);
}

/**
 * Reads the ignore file. A missing file is a warning (nothing is ignored but the host's own
 * addresses); any other read failure is an error, because blocking "anyway" (1.2) is how a host
 * ends up blocking its own admins.
 */
export async function loadIgnoreFile(path: string): Promise<IgnoreFile> {
  try {
    return parseIgnoreText(path, await readRegularFile(path, MAX_IGNORE_FILE_BYTES));
  } catch (err) {
    const code = systemErrorCode(err);
    const missing = code === 'ENOENT';
    return ignoreFile(path, new PackedEntries(), new CidrSet(), [
      {
        severity: missing ? 'warning' : 'error',
        file: path,
        line: 0,
        message: missing ? "no such file; only the host's own addresses are ignored" : readFailure(err),
      },
    ]);
  }
}
