/**
 * @module digest/render-text
 * The digest as plain text for a 72-column mail client: a two-line summary, the attackers (most
 * severe first, a short block each), the daemon's routine lines as one line, then logcheck's
 * sections by kind (Security Alerts, Security Events, System Events), each template one row: its
 * count, its time span and its first line's message with the program (pid and host dropped: the
 * JSON keeps the whole line). Rows longer than 72 columns are folded at spaces with an indent.
 * REPORT_MAX_BYTES bounds the whole: a part that does not fit ends with "... and N more", and
 * later parts keep room for their headings.
 *
 * Compact on purpose: on the fixture sample this text is under a fifth of logcheck's mail
 * (test/digest/report.test.ts measures it), which is what lets a day of floods fit in 100 KB.
 */
import { formatPortRanges, type AttackerRow } from './attackers.ts';
import type { SectionKind } from './build.ts';
import { parseSyslogLine } from './syslog-line.ts';
import type { TemplateRow } from './templates.ts';
import type { DigestView, StillHappening, ViewSection } from './view.ts';

export const WIDTH = 72;
/** Bytes kept for each part still to come (its heading and a "... and N more"). */
const PART_RESERVE = 160;
/** A port list longer than this is cut, with the number of ports (a full scan is thousands). */
const PORTS_MAX = 200;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** `Nov 22 10:05:10`; `10:05` when the whole digest is one day and seconds are not asked for. */
export function timeText(ms: number, oneDay: boolean, seconds = false): string {
  const d = new Date(ms);
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ''}`;
  return oneDay ? clock : `${MONTHS[d.getMonth()]} ${pad(d.getDate())} ${clock}`;
}

export function spanText(
  first: number | null,
  last: number | null,
  oneDay: boolean,
  seconds = false,
): string {
  if (first === null || last === null) return '';
  const a = timeText(first, oneDay, seconds);
  const b = timeText(last, oneDay, seconds);
  return a === b ? a : `${a}-${b}`;
}

/** Folds `text` at spaces to WIDTH columns; continuation lines start with `indent`. */
export function fold(text: string, indent: string): string[] {
  const out: string[] = [];
  let rest = text;
  let prefix = '';
  while (prefix.length + rest.length > WIDTH) {
    const room = WIDTH - prefix.length;
    let cut = rest.lastIndexOf(' ', room);
    if (cut <= 0) cut = room; // one long word: broken where the line ends
    out.push(prefix + rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
    prefix = indent;
  }
  if (rest !== '' || out.length === 0) out.push(prefix + rest);
  return out;
}

const n = (x: number) => x.toLocaleString('en-US');
const plural = (x: number, one: string, many = `${one}s`) => `${n(x)} ${x === 1 ? one : many}`;

function portsText(a: AttackerRow): string {
  const text = formatPortRanges(a.ports);
  if (text.length <= PORTS_MAX) return text;
  const count = a.ports.reduce((c, r) => c + r.to - r.from + 1, 0);
  return `${text.slice(0, text.lastIndexOf(',', PORTS_MAX))}, ... (${n(count)} ports)`;
}

export function attackerBlock(a: AttackerRow, oneDay: boolean): string[] {
  const name = a.names.length > 0 ? ` (${a.names.join(', ')})` : '';
  let state: string;
  if (a.blockedAt !== null) {
    const when = `${timeText(a.blockedAt, oneDay, true)} via ${a.blockedVia.join('+')}`;
    state = a.stillBlocked
      ? `BLOCKED ${when}`
      : `was blocked ${when}, ${a.unblocked !== null ? `lifted ${timeText(a.unblocked, oneDay)}` : 'expired'}`;
  } else if (a.repeatsAfterBlock > 0) {
    // Blocked before these lines began (the block line was in an earlier digest).
    state = 'already blocked';
  } else {
    state = a.refusals.length > 0 ? `not blocked: ${a.refusals.join('; ')}` : 'not blocked';
  }
  const lines = fold(`${a.address}${name} ${state}`, '    ');
  const span = spanText(a.firstSeen, a.lastSeen, oneDay);
  const facts = [a.hits > 0 ? `${plural(a.hits, 'hit')} ${span}` : span];
  if (a.repeatsAfterBlock > 0) facts.push(`${n(a.repeatsAfterBlock)} after the block`);
  if (a.kinds.length > 0) facts.push(a.kinds.join(', '));
  lines.push(...fold(`  ${facts.join('; ')}`, '    '));
  if (a.ports.length > 0) lines.push(...fold(`  ${portsText(a)}`, '    '));
  if (a.sshUsers.length > 0) lines.push(...fold(`  users ${a.sshUsers.join(', ')}`, '    '));
  return lines;
}

/** The kernel's uptime stamp: the row's time already says when. */
const KERNEL_STAMP = /^\[\s*\d+\.\d+\] /;

/** The message of a row's example with its program, without time, host, pid or kernel stamp. */
function exampleText(row: TemplateRow, now: Date): string {
  const parsed = parseSyslogLine(row.example, now);
  if (parsed === null) return row.example;
  const message = parsed.program === 'kernel' ? parsed.message.replace(KERNEL_STAMP, '') : parsed.message;
  return `${parsed.program}: ${message}`;
}

export function templateRow(row: TemplateRow, oneDay: boolean, now: Date): string[] {
  const count = row.count > 1 ? `${n(row.count)}x ` : '';
  const span = spanText(row.first, row.last, oneDay);
  return fold(`${count}${span}${span ? ' ' : ''}${exampleText(row, now)}`, '    ');
}

function stillLine(items: readonly StillHappening[], what: string): string[] {
  const total = items.reduce((c, s) => c + s.count, 0);
  const names = items
    .slice(0, 8)
    .map((s) => `${s.label} +${n(s.count)}`)
    .join(', ');
  const more = items.length > 8 ? `, and ${items.length - 8} more` : '';
  return fold(`Still happening (${plural(items.length, what)}, ${n(total)} new): ${names}${more}`, '    ');
}

const KIND_TITLES: Readonly<Record<SectionKind, string>> = {
  alerts: 'Security Alerts',
  events: 'Security Events',
  system: 'System Events',
};

/** One kind's sections merged: logcheck's per-file headings give way to one title. */
type Part = Omit<ViewSection, 'heading'> & { readonly title: string };

/** logcheck's per-rule-file sections, one part per kind (the program on each row says which). */
function partsOf(view: DigestView): Part[] {
  const parts: Part[] = [];
  for (const kind of ['alerts', 'events', 'system'] as const) {
    const sections = view.sections.filter((s) => s.kind === kind);
    if (sections.length === 0) continue;
    parts.push({
      kind,
      title: kind === 'system' ? sections[0]!.heading : KIND_TITLES[kind],
      lines: sections.reduce((c, s) => c + s.lines, 0),
      rows: sections.flatMap((s) => s.rows).sort((a, b) => (a.first ?? 0) - (b.first ?? 0)),
      still: sections.flatMap((s) => s.still),
      moreRows: sections.reduce((c, s) => c + s.moreRows, 0),
      moreLines: sections.reduce((c, s) => c + s.moreLines, 0),
    });
  }
  // System Events: most frequent first (the flood on top); the security parts in time order.
  return parts.map((p) =>
    p.kind === 'system'
      ? { ...p, rows: [...p.rows].sort((a, b) => b.count - a.count || (a.first ?? 0) - (b.first ?? 0)) }
      : p,
  );
}

function daemonLine(view: DigestView, oneDay: boolean): string[] {
  const d = view.daemon;
  if (d.lines === 0) return [];
  const facts: string[] = [];
  if (d.starts > 0) facts.push(`started ${d.starts === 1 ? 'once' : `${d.starts} times`}`);
  if (d.stops > 0) facts.push(`stopped ${d.stops === 1 ? 'once' : `${d.stops} times`}`);
  const ports = [d.tcpPorts > 0 ? `${d.tcpPorts} TCP` : '', d.udpPorts > 0 ? `${d.udpPorts} UDP` : '']
    .filter(Boolean)
    .join(' and ');
  if (ports) facts.push(`listening on ${ports} ports`);
  if (d.alertMails > 0) facts.push(`${plural(d.alertMails, 'alert mail')} sent`);
  return fold(
    `PortSentry/portsnare ${spanText(d.first, d.last, oneDay)}: ${facts.join(', ') || `${d.lines} routine lines`}`,
    '    ',
  );
}

export function renderText(view: DigestView): string {
  const oneDay =
    view.first !== null &&
    view.last !== null &&
    new Date(view.first).toDateString() === new Date(view.last).toDateString();
  const now = new Date(view.generated);
  const out: string[] = [];
  let bytes = 0;
  const size = (lines: readonly string[]) => lines.reduce((c, l) => c + Buffer.byteLength(l) + 1, 0);
  const push = (lines: readonly string[]) => {
    out.push(...lines);
    bytes += size(lines);
  };
  const parts = partsOf(view);
  const fits = (lines: readonly string[], after: number) =>
    bytes + size(lines) <= view.maxBytes - after * PART_RESERVE;

  push([`portsnare digest for ${view.host}, ${spanText(view.first, view.last, false, true)}`]);
  const counts = [
    `${plural(view.lines, 'line')}`,
    `${plural(view.attackerCount, 'attacker')} (${n(view.blockedCount)} blocked)`,
  ];
  for (const p of parts) counts.push(`${n(p.lines)} ${p.title.toLowerCase()}`);
  push(fold(counts.join(', '), '  '));

  const hasAttackers = view.attackers.length > 0 || view.attackersStill.length > 0 || view.moreAttackers > 0;
  if (hasAttackers) {
    push(['', 'Attackers', '---------']);
    let shown = 0;
    for (const a of view.attackers) {
      const block = attackerBlock(a, oneDay);
      if (!fits(block, parts.length + 1)) break;
      push(block);
      shown++;
    }
    if (view.attackersStill.length > 0) push(stillLine(view.attackersStill, 'attacker'));
    const more = view.attackers.length - shown + view.moreAttackers;
    if (more > 0) push([`... and ${n(more)} more attackers`]);
  }
  const daemon = daemonLine(view, oneDay);
  if (daemon.length > 0) push(['', ...daemon]);
  parts.forEach((p, i) => {
    push(['', p.title, '-'.repeat(p.title.length)]);
    let shown = 0;
    let shownLines = 0;
    for (const row of p.rows) {
      const lines = templateRow(row, oneDay, now);
      if (!fits(lines, parts.length - i)) break;
      push(lines);
      shown++;
      shownLines += row.count;
    }
    if (p.still.length > 0) push(stillLine(p.still, 'kind'));
    const moreRows = p.rows.length - shown + p.moreRows;
    const moreLines = p.lines - shownLines - p.still.reduce((c, x) => c + x.count, 0);
    if (moreRows > 0) push([`... and ${n(moreRows)} more (${plural(moreLines, 'line')})`]);
  });
  return `${out.join('\n')}\n`;
}
