/**
 * @module digest/render-html
 * The digest as HTML, the rich part of a multipart/alternative mail whose plain part is
 * digest/render-text: the same view as tables (attackers, then one table per section), inline
 * styles only (mail clients drop style sheets), every text escaped.
 */
import { formatPortRanges } from './attackers.ts';
import { spanText, timeText } from './render-text.ts';
import type { DigestView } from './view.ts';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CELL = 'style="border:1px solid #ccc;padding:2px 6px;vertical-align:top"';
const TABLE = 'style="border-collapse:collapse;font:13px monospace"';

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const th = head.map((h) => `<th ${CELL}>${escapeHtml(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td ${CELL}>${escapeHtml(c)}</td>`).join('')}</tr>`);
  return `<table ${TABLE}><tr>${th}</tr>\n${trs.join('\n')}\n</table>\n`;
}

export function renderHtml(view: DigestView): string {
  const oneDay =
    view.first !== null &&
    view.last !== null &&
    new Date(view.first).toDateString() === new Date(view.last).toDateString();
  const parts: string[] = [];
  parts.push(`<h2>portsnare digest for ${escapeHtml(view.host)}</h2>`);
  parts.push(
    `<p>${escapeHtml(spanText(view.first, view.last, false))}: ${view.lines} lines read, ${view.ignored} ignored; ` +
      `${view.attackerCount} attackers (${view.blockedCount} blocked)</p>`,
  );
  if (view.attackers.length > 0 || view.attackersStill.length > 0) {
    parts.push('<h3>Attackers</h3>');
    parts.push(
      table(
        ['Address', 'State', 'Hits', 'Seen', 'Kinds', 'Ports', 'After block', 'ssh users'],
        view.attackers.map((a) => [
          a.names.length > 0 ? `${a.address} (${a.names.join(', ')})` : a.address,
          a.blockedAt === null
            ? a.refusals.length > 0
              ? `not blocked: ${a.refusals.join('; ')}`
              : 'not blocked'
            : `${a.stillBlocked ? 'blocked' : 'was blocked'} ${timeText(a.blockedAt, oneDay)} via ${a.blockedVia.join(', ')}`,
          String(a.hits),
          spanText(a.firstSeen, a.lastSeen, oneDay),
          a.kinds.join(', '),
          formatPortRanges(a.ports),
          a.repeatsAfterBlock > 0 ? `already blocked x${a.repeatsAfterBlock}` : '',
          a.sshUsers.join(', '),
        ]),
      ),
    );
    if (view.attackersStill.length > 0) {
      parts.push(
        `<p>Still happening: ${escapeHtml(view.attackersStill.map((s) => `${s.label} +${s.count}`).join(', '))}</p>`,
      );
    }
  }
  if (view.moreAttackers > 0) parts.push(`<p>... and ${view.moreAttackers} more attackers</p>`);
  for (const s of view.sections) {
    parts.push(`<h3>${escapeHtml(s.heading)} (${s.lines})</h3>`);
    parts.push(
      table(
        ['Count', 'Time', 'Program', 'Example'],
        s.rows.map((r) => [String(r.count), spanText(r.first, r.last, oneDay), r.program, r.example]),
      ),
    );
    if (s.still.length > 0) {
      parts.push(
        `<p>Still happening: ${escapeHtml(s.still.map((x) => `${x.label} +${x.count}`).join(', '))}</p>`,
      );
    }
    if (s.moreRows > 0) parts.push(`<p>... and ${s.moreRows} more (${s.moreLines} lines)</p>`);
  }
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>portsnare digest for ${escapeHtml(view.host)}</title></head>\n<body>\n${parts.join('\n')}\n</body></html>\n`;
}
