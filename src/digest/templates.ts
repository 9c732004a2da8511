/**
 * @module digest/templates
 * Lines collapsed into templates: the message with its variable parts (addresses, numbers, hex
 * ids) replaced by placeholders, keyed with the program, so "Accepted publickey for alice from
 * 192.0.2.10 port 50522" and the same from another address and port are one row with a count, the
 * first and last time, and the first line as its example. syslog-summary's semantics (identical
 * messages, time removed) are the floor; normalising values is what makes a flood one row.
 */
import type { SyslogLine } from './syslog-line.ts';

export interface TemplateRow {
  /** The program (tag without pid), '' for a line without a syslog head. */
  readonly program: string;
  /** The normalised message: `<ip>`, `<n>`, `<hex>` where the values were. */
  readonly template: string;
  readonly count: number;
  /** Milliseconds since the epoch; null when no line of the row had a time. */
  readonly first: number | null;
  readonly last: number | null;
  /** The first line of the row, whole. */
  readonly example: string;
}

// One pass, most specific first: MAC addresses, IPv6 (groups around "::", or eight groups), IPv4
// with an optional port or prefix, 0x numbers and long hex ids, then any decimal number not glued
// to a letter (so "ssh2", "sda1" and "pam_unix" stay as they are).
const VARIABLE = new RegExp(
  [
    String.raw`(?<mac>\b[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5,}\b)`,
    String.raw`(?<ip6>(?<![\w:])(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){7}|(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?)(?:\/\d+)?(?![\w:]))`,
    String.raw`(?<ip4>\b\d{1,3}(?:\.\d{1,3}){3}(?:[:/]\d+)?\b)`,
    String.raw`(?<hex>\b0x[0-9A-Fa-f]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b)`,
    String.raw`(?<n>(?<![\w])\d+(?:[.,:]\d+)*(?![\w]))`,
  ].join('|'),
  'g',
);

/** A template message keeps at most this much: the variable tail of a very long line is not a new kind. */
const TEMPLATE_MAX = 160;

export function normalise(message: string): string {
  const cut = message.length > TEMPLATE_MAX * 2 ? message.slice(0, TEMPLATE_MAX * 2) : message;
  const t = cut.replace(VARIABLE, (...args: unknown[]) => {
    const g = args.at(-1) as Record<string, string | undefined>;
    if (g.mac !== undefined) return '<mac>';
    if (g.ip6 !== undefined || g.ip4 !== undefined) return '<ip>';
    return g.hex !== undefined ? '<hex>' : '<n>';
  });
  return t.length > TEMPLATE_MAX ? `${t.slice(0, TEMPLATE_MAX)}...` : t;
}

interface MutableRow {
  program: string;
  template: string;
  count: number;
  first: number | null;
  last: number | null;
  example: string;
}

/**
 * The templates of one section. Bounded: past `maxTemplates` distinct templates, new ones are only
 * counted (`overflowLines`), so a flood of unique garbage cannot grow memory without end.
 */
export class TemplateTable {
  readonly #rows = new Map<string, MutableRow>();
  readonly #max: number;
  #lines = 0;
  #overflowLines = 0;

  constructor(options: { maxTemplates?: number } = {}) {
    this.#max = options.maxTemplates ?? 20_000;
  }

  /** `parsed` null: a line without a syslog head, kept under its whole text. */
  add(line: string, parsed: SyslogLine | null): void {
    this.#lines++;
    const program = parsed?.program ?? '';
    const template = normalise(parsed?.message ?? line);
    const key = `${program}\u0000${template}`;
    const time = parsed?.time ?? null;
    const row = this.#rows.get(key);
    if (row !== undefined) {
      row.count++;
      if (time !== null) {
        if (row.first === null || time < row.first) row.first = time;
        if (row.last === null || time > row.last) row.last = time;
      }
      return;
    }
    if (this.#rows.size >= this.#max) {
      this.#overflowLines++;
      return;
    }
    this.#rows.set(key, { program, template, count: 1, first: time, last: time, example: line });
  }

  get lines(): number {
    return this.#lines;
  }

  /** Lines not given a row because the table was full. */
  get overflowLines(): number {
    return this.#overflowLines;
  }

  /** Most frequent first; ties by first time, then program and template. */
  rows(): TemplateRow[] {
    return [...this.#rows.values()].sort(
      (a, b) =>
        b.count - a.count ||
        (a.first ?? 0) - (b.first ?? 0) ||
        (a.program < b.program ? -1 : a.program > b.program ? 1 : 0) ||
        (a.template < b.template ? -1 : a.template > b.template ? 1 : 0),
    );
  }
}

/** The key a template row is remembered by between two reports (digest/previous). */
export function templateKey(section: string, row: Pick<TemplateRow, 'program' | 'template'>): string {
  return `${section}\u0000${row.program}\u0000${row.template}`;
}
