/**
 * @module config/conf-file
 * Reads the text of a portsentry.conf (1.2 or 2.x) into raw key/value entries, the way PortSentry 1.2
 * reads it (a `#` in column 0 starts a comment, keys start in column 0, the value is between the first
 * two double quotes, the first occurrence of a key wins), and reports every place where 1.2 would have
 * silently skipped, cut or guessed. A UTF-8 byte-order mark at the start is skipped; a key name with
 * anything but ASCII letters, digits and `_` is reported whole. Values are not interpreted here; see
 * config/settings.
 */
import type { Diagnostic } from './diagnostic.ts';
import { KEYS_BY_NAME } from './keys.ts';

export interface ConfEntry {
  key: string;
  value: string;
  line: number;
}

export interface ConfFile {
  path: string;
  /** First occurrence of each key. */
  entries: Map<string, ConfEntry>;
  diagnostics: Diagnostic[];
}

const KEY_LINE = /^([A-Za-z_][A-Za-z0-9_]*)(.*)$/;
/** What an admin meant as the key: the run of ASCII word characters and non-ASCII letters. */
// eslint-disable-next-line no-control-regex -- the ASCII range, to find non-ASCII letters
const WRITTEN_KEY = /^(?:[A-Za-z0-9_]|[^\x00-\x7f\s])+/u;
// PortSentry 1.2 ends a value at the first non-printable character.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NON_PRINTABLE = /[\x00-\x1f\x7f]/;

function closestKey(name: string): string | undefined {
  const upper = name.toUpperCase();
  if (KEYS_BY_NAME.has(upper)) return upper;
  let best: { key: string; distance: number } | undefined;
  for (const key of KEYS_BY_NAME.keys()) {
    const distance = editDistance(upper, key);
    if (distance <= 2 && (!best || distance < best.distance)) best = { key, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

export function parseConfText(path: string, text: string): ConfFile {
  const entries = new Map<string, ConfEntry>();
  const diagnostics: Diagnostic[] = [];
  const report = (severity: Diagnostic['severity'], line: number, key: string | undefined, message: string) =>
    diagnostics.push({ severity, file: path, line, ...(key ? { key } : {}), message });

  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((rawLine, index) => {
    const lineNo = index + 1;
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.startsWith('#') || line.trim() === '' || line.trimStart().startsWith('#')) return;

    if (/^\s/.test(line)) {
      const key = WRITTEN_KEY.exec(line.trimStart())?.[0];
      report('warning', lineNo, key, 'line is indented; PortSentry 1.2 ignores it and so does portsnare');
      return;
    }
    const written = WRITTEN_KEY.exec(line)?.[0] ?? '';
    // eslint-disable-next-line no-control-regex -- the ASCII range
    if (/[^\x00-\x7f]/.test(written)) {
      const suggestion = closestKey(written.replace(/[^A-Za-z0-9_]/g, ''));
      report(
        'error',
        lineNo,
        written,
        `invalid key name ${JSON.stringify(written)}: keys are ASCII letters, digits and "_"${suggestion ? ` (did you mean ${suggestion}?)` : ''}`,
      );
      return;
    }
    const match = KEY_LINE.exec(line);
    if (!match) {
      report('error', lineNo, undefined, `cannot read this line: expected KEY="value"`);
      return;
    }
    const key = match[1] ?? '';
    const rest = match[2] ?? '';
    if (!KEYS_BY_NAME.has(key)) {
      const suggestion = closestKey(key);
      report(
        'warning',
        lineNo,
        key,
        `unknown key, ignored${suggestion ? ` (did you mean ${suggestion}?)` : ''}`,
      );
      return;
    }
    const firstQuote = rest.indexOf('"');
    if (firstQuote < 0) {
      report('error', lineNo, key, 'value is not in double quotes (PortSentry 1.2 silently skips this key)');
      return;
    }
    const between = rest.slice(0, firstQuote);
    if (!/^[ \t]*=[ \t]*$/.test(between)) {
      report(
        'error',
        lineNo,
        key,
        `expected ${key}="value", found "${line.slice(0, key.length + firstQuote + 1)}"`,
      );
      return;
    }
    if (between.startsWith('\t')) {
      report('warning', lineNo, key, 'a tab between key and "=" makes PortSentry 1.2 ignore this line');
    }
    const afterQuote = rest.slice(firstQuote + 1);
    const closing = afterQuote.indexOf('"');
    if (closing < 0) {
      report('error', lineNo, key, 'missing closing double quote');
      return;
    }
    let value = afterQuote.slice(0, closing);
    const trailing = afterQuote.slice(closing + 1);
    const cut = NON_PRINTABLE.exec(value);
    if (cut) {
      report(
        'warning',
        lineNo,
        key,
        `value contains a control character (${JSON.stringify(cut[0])}); it is cut there, as PortSentry 1.2 does`,
      );
      value = value.slice(0, cut.index);
    }
    if (trailing.trim() !== '' && !trailing.trimStart().startsWith('#')) {
      report(
        'warning',
        lineNo,
        key,
        `text after the closing quote is ignored: ${JSON.stringify(trailing.trim())}`,
      );
    }
    const first = entries.get(key);
    if (first) {
      report(
        'warning',
        lineNo,
        key,
        `duplicate key; the first one (line ${first.line}) wins, as in PortSentry 1.2`,
      );
      return;
    }
    entries.set(key, { key, value, line: lineNo });
  });
  return { path, entries, diagnostics };
}
