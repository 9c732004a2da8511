/**
 * @module config/ignore-file
 * portsentry.ignore: one IPv4 or IPv6 address per line with an optional /bits suffix, `#` comments
 * (whole-line or trailing). Host bits are masked off, so `10.0.0.77/24` covers 10.0.0.0/24, and /0
 * covers everything (1.2 treated /0 as /32). Lines 1.2 could not use (hostnames, `10/8` shorthand,
 * bad netmasks) are reported with their line number and skipped.
 */
import { systemErrorCode } from '../errors.ts';
import { parseCidr, type Cidr } from '../net/address.ts';
import type { Diagnostic } from './diagnostic.ts';
import { MAX_IGNORE_FILE_BYTES, readFailure, readRegularFile } from './read-file.ts';

export interface IgnoreEntry {
  cidr: Cidr;
  line: number;
}

export interface IgnoreFile {
  path: string;
  entries: IgnoreEntry[];
  diagnostics: Diagnostic[];
}

export function parseIgnoreText(path: string, text: string): IgnoreFile {
  const entries: IgnoreEntry[] = [];
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
    entries.push({ cidr: parsed.cidr, line });
  });
  return { path, entries, diagnostics };
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
    return {
      path,
      entries: [],
      diagnostics: [
        {
          severity: missing ? 'warning' : 'error',
          file: path,
          line: 0,
          message: missing ? "no such file; only the host's own addresses are ignored" : readFailure(err),
        },
      ],
    };
  }
}
