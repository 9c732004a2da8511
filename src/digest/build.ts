/**
 * @module digest/build
 * One pass over the new lines builds what a digest says: every line that is attacker evidence
 * (digest/attackers: PortSentry and portsnare, sshd, kernel firewall lines) goes to its source's
 * row, whatever the rules say (stock rules hide failed ssh logins at level server, and no stock
 * rule names PortSentry); every other line is placed by logcheck's rules of the level
 * (logcheck/classify), and each section is collapsed into templates (digest/templates). Memory
 * follows the number of sources and templates, both bounded, plus the raise candidates (few).
 */
import { gzipSync } from 'node:zlib';
import { isAscii } from '../logcheck/ere.ts';
import { classifyPartitioned, LinePartition, type Subjects } from '../logcheck/classify.ts';
import type { RuleTree } from '../logcheck/rules.ts';
import { AttackerTable, type AttackerRow } from './attackers.ts';
import { DaemonLines, type DaemonSummary } from './daemon-lines.ts';
import { parseSyslogLine, type SyslogLine } from './syslog-line.ts';
import { TemplateTable, type TemplateRow } from './templates.ts';

export type SectionKind = 'alerts' | 'events' | 'system';

export interface DigestSection {
  readonly kind: SectionKind;
  /** logcheck's heading: "Security Alerts for kernel", "System Events". */
  readonly heading: string;
  /** Lines in the section. */
  readonly lines: number;
  /** Its templates, most frequent first. */
  readonly rows: readonly TemplateRow[];
  /** Lines past the template table's bound (counted, not kept). */
  readonly overflowLines: number;
}

type BuiltSection = DigestSection & { readonly lineSet: readonly string[] };

export interface DigestData {
  /** Lines read. */
  readonly lines: number;
  /** Lines an ignore rule of the level removed (and that were no attacker evidence). */
  readonly ignored: number;
  /** Lines a raise rule matched but a cancel rule (`*.ignore.d`) took out of every section, as in logcheck. */
  readonly cancelled: number;
  /** The earliest and latest time of a line, ms; null when no line had one. */
  readonly first: number | null;
  readonly last: number | null;
  readonly attackers: readonly AttackerRow[];
  /** Sources seen past the attacker table's bound. */
  readonly attackerOverflow: number;
  /** Lines that were attacker evidence. */
  readonly attackerLines: number;
  /** PortSentry's and portsnare's routine lines about themselves, folded (digest/daemon-lines). */
  readonly daemon: DaemonSummary;
  /** Security Alerts sections, Security Events sections, then System Events (absent when empty). */
  readonly sections: readonly DigestSection[];
  /** Every line no ignore rule removed, in the order read, gzip, when asked for. */
  readonly raw: Buffer | null;
}

export interface DigestOptions {
  /** The rule tree of the level; null: every line that is no attacker evidence is a System Event. */
  readonly tree: RuleTree | null;
  readonly subjects?: Subjects;
  readonly now?: Date;
  /** Keep the summarised lines for a gzip attachment. */
  readonly keepRaw?: boolean;
  /** Only lines at or after this time (ms; `--since`); lines without a time are kept. */
  readonly since?: number;
}

/** Raw lines are compressed a megabyte at a time: concatenated gzip members are one valid .gz. */
const RAW_BATCH = 1 << 20;

export class DigestBuilder {
  readonly #attackers: AttackerTable;
  readonly #partition: LinePartition | null;
  readonly #system = new TemplateTable();
  readonly #daemon = new DaemonLines();
  readonly #candidates: { line: string; parsed: SyslogLine | null }[] = [];
  readonly #now: Date;
  readonly #since: number | null;
  readonly #raw: Buffer[] | null;
  #rawPending: string[] = [];
  #rawBytes = 0;
  #lines = 0;
  #ignored = 0;
  #cancelled = 0;
  #attackerLines = 0;
  #first: number | null = null;
  #last: number | null = null;

  constructor(readonly options: DigestOptions) {
    this.#now = options.now ?? new Date();
    this.#attackers = new AttackerTable({ now: this.#now });
    this.#partition = options.tree ? new LinePartition(options.tree) : null;
    this.#since = options.since ?? null;
    this.#raw = options.keepRaw ? [] : null;
  }

  /** One line, without its newline and with trailing white space as read. */
  add(rawLine: string): void {
    // logcheck's rules see lines with trailing white space stripped; so does everything here.
    const line = rawLine.trimEnd();
    if (line === '') return;
    const parsed = parseSyslogLine(line, this.#now);
    if (parsed !== null) {
      if (this.#since !== null && parsed.time < this.#since) return;
      if (this.#first === null || parsed.time < this.#first) this.#first = parsed.time;
      if (this.#last === null || parsed.time > this.#last) this.#last = parsed.time;
    }
    this.#lines++;
    if (parsed !== null && this.#attackers.addParsed(parsed, line)) {
      this.#attackerLines++;
      this.#keepRaw(line);
      return;
    }
    if (parsed !== null && this.#daemon.add(parsed)) {
      this.#keepRaw(line);
      return;
    }
    const place = this.#partition === null ? 'system' : this.#partition.placeOf(line, isAscii(line));
    if (place === 'drop') {
      this.#ignored++;
      return;
    }
    this.#keepRaw(line);
    if (place === 'candidate') this.#candidates.push({ line, parsed });
    else this.#system.add(line, parsed);
  }

  #keepRaw(line: string): void {
    if (this.#raw === null) return;
    this.#rawPending.push(line);
    this.#rawBytes += line.length + 1;
    if (this.#rawBytes >= RAW_BATCH) this.#flushRaw();
  }

  #flushRaw(): void {
    if (this.#raw === null || this.#rawPending.length === 0) return;
    this.#raw.push(gzipSync(`${this.#rawPending.join('\n')}\n`));
    this.#rawPending = [];
    this.#rawBytes = 0;
  }

  finish(): DigestData {
    const sections: BuiltSection[] = [];
    if (this.options.tree !== null && this.#candidates.length > 0) {
      const parsedOf = new Map(this.#candidates.map((c) => [c.line, c.parsed]));
      const classified = classifyPartitioned(
        this.#candidates.map((c) => c.line),
        [],
        this.options.tree,
        this.options.subjects,
      );
      for (const [kind, list] of [
        ['alerts', classified.alerts],
        ['events', classified.events],
      ] as const) {
        for (const s of list) sections.push(section(kind, s.heading, s.lines, parsedOf));
      }
      // A raise candidate that no section kept (a cancel rule removed it) is not a System Event
      // either, as in logcheck (logcheck/classify).
      const reported = new Set(sections.flatMap((s) => s.lineSet));
      for (const c of this.#candidates) if (!reported.has(c.line)) this.#cancelled++;
    }
    const system = this.#system;
    if (system.lines > 0) {
      sections.push({
        kind: 'system',
        heading: this.options.subjects?.events ?? 'System Events',
        lines: system.lines,
        rows: system.rows(),
        overflowLines: system.overflowLines,
        lineSet: [],
      });
    }
    this.#flushRaw();
    return {
      lines: this.#lines,
      ignored: this.#ignored,
      cancelled: this.#cancelled,
      first: this.#first,
      last: this.#last,
      attackers: this.#attackers.rows(),
      attackerOverflow: this.#attackers.overflow,
      attackerLines: this.#attackerLines,
      daemon: this.#daemon.summary(),
      sections: sections.map(({ lineSet: _lines, ...s }) => s),
      raw: this.#raw === null ? null : Buffer.concat(this.#raw),
    };
  }
}

function section(
  kind: SectionKind,
  heading: string,
  lines: readonly string[],
  parsedOf: ReadonlyMap<string, SyslogLine | null>,
): BuiltSection {
  const table = new TemplateTable();
  for (const line of lines) table.add(line, parsedOf.get(line) ?? null);
  return {
    kind,
    heading,
    lines: table.lines,
    rows: table.rows(),
    overflowLines: table.overflowLines,
    lineSet: lines,
  };
}
