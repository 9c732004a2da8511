/**
 * @module logcheck/report
 * The report body and the subject exactly as logcheck 1.4.2 writes them, from already classified
 * lines: journal first-run notice, header.txt (INTRO), read errors framed by blank lines, alert
 * sections, event sections, System Events, Logcheck Warnings, footer.txt (INTRO). Each section is
 * the heading, an underline of alternating '=' and '-' as long as the heading, the lines and one
 * blank line; a section without lines is not written. When no alert, event or system section has a
 * line logcheck sends nothing, so neither does this: null.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ReportSection {
  /** Full heading, e.g. `Security Alerts for kernel` (the subject, plus ` for <file>` unless the file is `logcheck`). */
  heading: string;
  lines: string[];
}

/**
 * Lines already in report order as bytes, each with its newline (a long System Events section,
 * written as read without becoming strings: logcheck/kept-lines).
 */
export interface LineBytes {
  readonly length: number;
  /** The lines, in buffers of many lines each. */
  chunks(): Iterable<Buffer>;
  /** The lines as strings (for the mail and SYSLOGSUMMARY). */
  strings(): string[];
}

/** Classified lines, in the order logcheck reports them. */
export interface ReportInput {
  alerts: ReportSection[];
  events: ReportSection[];
  /** System Events lines. */
  system: readonly string[] | LineBytes;
}

export interface ReportOptions {
  /** INTRO: write header and footer. */
  intro: boolean;
  /** Contents of `<RULEDIR>/header.txt`, or null when absent or unreadable. */
  header: string | null;
  /** Contents of `<RULEDIR>/footer.txt`, or null. */
  footer?: string | null;
  /** EVENTSSUBJECT: heading of the System Events section. */
  eventsSubject: string;
  /** Listed log files that are not regular files (`E: File could not be read: <path>`). */
  readErrors?: readonly string[];
  /** The journal was read for the first time (no offset.journal): the three notice lines. */
  journalFirstRun?: boolean;
  /** Lines of the Logcheck Warnings section (logcheck 1.4.2 never writes any). */
  warnings?: readonly string[];
}

/** Which layer decides the subject: alerts beat events beat system events. */
export type ReportLevelFired = 'attack' | 'security' | 'system';

export interface Report {
  body: string;
  fired: ReportLevelFired;
}

/** The lines logcheck writes when it reads the journal without an offset file. */
export const JOURNAL_FIRST_RUN: readonly string[] = [
  'This is the first time logcheck has checked the systemd journal.',
  'Only recent entries (from the last 5 hours) will be checked',
  'If you do not wish to check the systemd journal, please see /etc/logcheck/logcheck.logfiles.d/journal.logfiles',
];

/** `=-=-...` as long as the heading in characters (code points), as bash counts ${#header} in a UTF-8 locale. */
export function underline(heading: string): string {
  const n = [...heading].length;
  let line = '';
  for (let i = 0; i < n; i++) line += i % 2 === 0 ? '=' : '-';
  return line;
}

/** One section: heading, underline, lines, blank line. */
export function formatSection(heading: string, lines: readonly string[]): string {
  let out = `${heading}\n${underline(heading)}\n`;
  for (const l of lines) out += `${l}\n`;
  return `${out}\n`;
}

/** Which layer fired, or null when no section has a line (no report: logcheck sends no mail then). */
export function reportFired(input: ReportInput): ReportLevelFired | null {
  if (input.alerts.some((s) => s.lines.length > 0)) return 'attack';
  if (input.events.some((s) => s.lines.length > 0)) return 'security';
  return input.system.length > 0 ? 'system' : null;
}

/** Lines per piece of `reportPieces`: big reports are written as they are made. */
const LINES_PER_PIECE = 4096;

function* sectionPieces(heading: string, lines: readonly string[] | LineBytes): Generator<string | Buffer> {
  yield `${heading}\n${underline(heading)}\n`;
  if (!Array.isArray(lines)) {
    yield* (lines as LineBytes).chunks();
    yield '\n';
    return;
  }
  for (let i = 0; i < lines.length; i += LINES_PER_PIECE) {
    let piece = '';
    for (const l of lines.slice(i, i + LINES_PER_PIECE)) piece += `${l}\n`;
    yield piece;
  }
  yield '\n';
}

/**
 * The report body in pieces, in order (their concatenation is `formatReport`'s body), so that a
 * report of millions of lines is written without being held twice. Empty when nothing fired.
 */
export function* reportPieces(input: ReportInput, options: ReportOptions): Generator<string | Buffer> {
  if (reportFired(input) === null) return;
  const alerts = input.alerts.filter((s) => s.lines.length > 0);
  const events = input.events.filter((s) => s.lines.length > 0);
  if (options.journalFirstRun) yield JOURNAL_FIRST_RUN.map((l) => `${l}\n`).join('');
  if (options.intro && options.header !== null) yield options.header;
  const errors = options.readErrors ?? [];
  if (errors.length > 0) {
    // A here-document around $(< errors): a blank line, the errors (command substitution drops
    // their trailing newline), a blank line.
    yield `\n${errors.map((p) => `E: File could not be read: ${p}`).join('\n')}\n\n`;
  }
  for (const s of alerts) yield* sectionPieces(s.heading, s.lines);
  for (const s of events) yield* sectionPieces(s.heading, s.lines);
  if (input.system.length > 0) yield* sectionPieces(options.eventsSubject, input.system);
  const warnings = options.warnings ?? [];
  if (warnings.length > 0) yield* sectionPieces('Logcheck Warnings', warnings);
  if (options.intro && options.footer !== undefined && options.footer !== null) yield options.footer;
}

/** The report body, or null when no section has a line (logcheck sends no mail then). */
export function formatReport(input: ReportInput, options: ReportOptions): Report | null {
  const fired = reportFired(input);
  if (fired === null) return null;
  let body = '';
  for (const piece of reportPieces(input, options))
    body += typeof piece === 'string' ? piece : piece.toString('utf8');
  return { body, fired };
}

export interface SubjectOptions {
  /** ADDTAG=yes. */
  addTag: boolean;
  /** -R. */
  reboot: boolean;
  /** -H, or `hostname --short` / `--fqdn` per FQDN. */
  hostname: string;
  /** DATE. */
  date: string;
  attackSubject: string;
  securitySubject: string;
  eventsSubject: string;
}

/** The subject's last word(s): ATTACKSUBJECT, SECURITYSUBJECT or EVENTSSUBJECT. */
export function subjectSuffix(fired: ReportLevelFired, o: SubjectOptions): string {
  return fired === 'attack' ? o.attackSubject : fired === 'security' ? o.securitySubject : o.eventsSubject;
}

/** `[logcheck] ` (ADDTAG=yes) + `Reboot: ` (-R) + `<HOST> <DATE> <X>`. */
export function composeSubject(fired: ReportLevelFired, o: SubjectOptions): string {
  const core = `${o.hostname} ${o.date} ${subjectSuffix(fired, o)}`;
  const withReboot = o.reboot ? `Reboot: ${core}` : core;
  return o.addTag ? `[logcheck] ${withReboot}` : withReboot;
}

/** Subject of logcheck's failure mail (no tag, no reboot mark: its error() builds it alone). */
export function errorSubject(hostname: string, date: string): string {
  return `Logcheck: ${hostname} ${date} exiting due to errors`;
}

/**
 * Reads `<ruleDir>/header.txt` and `footer.txt` as logcheck does: a missing or unreadable file
 * (or a non-regular one) is simply left out.
 */
export async function readIntroFiles(
  ruleDir: string,
): Promise<{ header: string | null; footer: string | null }> {
  const read = async (name: string): Promise<string | null> => {
    try {
      return await readFile(join(ruleDir, name), 'utf8');
    } catch {
      return null;
    }
  };
  return { header: await read('header.txt'), footer: await read('footer.txt') };
}
