/**
 * @module digest/view
 * What one digest shows, from what was read (digest/build) and what the previous digest listed
 * (digest/previous): the caps (REPORT_MAX_ATTACKERS rows, REPORT_MAX_TEMPLATES rows a section,
 * the rest as "... and N more"), and the "still happening" rule: an attacker or template that the
 * previous digest already listed and that goes on is not listed again but counted on one line with
 * its new numbers. Every renderer (text, html, json) shows this same view.
 */
import type { AttackerRow } from './attackers.ts';
import type { DigestData, SectionKind } from './build.ts';
import type { DaemonSummary } from './daemon-lines.ts';
import type { PreviousListing } from './previous.ts';
import { templateKey, type TemplateRow } from './templates.ts';

export interface StillHappening {
  /** The address, or the template's program and text. */
  readonly label: string;
  /** New hits (attackers) or new lines (templates) since the previous digest. */
  readonly count: number;
  /** What digest/previous remembers it by. */
  readonly key: string;
}

export interface ViewSection {
  readonly kind: SectionKind;
  readonly heading: string;
  readonly lines: number;
  readonly rows: readonly TemplateRow[];
  readonly still: readonly StillHappening[];
  /** Templates not shown (past the cap or the table's bound), and their lines. */
  readonly moreRows: number;
  readonly moreLines: number;
}

export interface DigestView {
  readonly host: string;
  /** When the digest was made, ms. */
  readonly generated: number;
  readonly first: number | null;
  readonly last: number | null;
  readonly lines: number;
  readonly ignored: number;
  readonly cancelled: number;
  readonly attackerCount: number;
  /** Lines that were attacker evidence. */
  readonly attackerLines: number;
  readonly blockedCount: number;
  readonly attackers: readonly AttackerRow[];
  readonly attackersStill: readonly StillHappening[];
  /** Attackers not shown (past the cap, or sources past the table's bound). */
  readonly moreAttackers: number;
  readonly sections: readonly ViewSection[];
  readonly daemon: DaemonSummary;
  /** REPORT_MAX_BYTES: what the text may take at most. */
  readonly maxBytes: number;
}

export interface ViewOptions {
  readonly host: string;
  readonly now: number;
  readonly maxAttackers: number;
  readonly maxTemplates: number;
  readonly maxBytes: number;
  readonly previous: PreviousListing | null;
}

export function makeView(data: DigestData, options: ViewOptions): DigestView {
  const prevAttackers = new Set(options.previous?.attackers ?? []);
  const prevTemplates = new Set(options.previous?.templates ?? []);
  const fresh: AttackerRow[] = [];
  const attackersStill: StillHappening[] = [];
  for (const row of data.attackers) {
    if (prevAttackers.has(row.address))
      // New activity: probes and the probes turned away by the block.
      attackersStill.push({ label: row.address, count: row.hits + row.repeatsAfterBlock, key: row.address });
    else fresh.push(row);
  }
  const shown = fresh.slice(0, options.maxAttackers);
  const sections = data.sections.map((s): ViewSection => {
    const rows: TemplateRow[] = [];
    const still: StillHappening[] = [];
    for (const row of s.rows) {
      const key = templateKey(s.heading, row);
      if (prevTemplates.has(key)) {
        still.push({
          label: row.program ? `${row.program}: ${row.template}` : row.template,
          count: row.count,
          key,
        });
      } else {
        rows.push(row);
      }
    }
    const kept = rows.slice(0, options.maxTemplates);
    const cut = rows.slice(options.maxTemplates);
    return {
      kind: s.kind,
      heading: s.heading,
      lines: s.lines,
      rows: kept,
      still,
      moreRows: cut.length + (s.overflowLines > 0 ? 1 : 0),
      moreLines: cut.reduce((n, r) => n + r.count, 0) + s.overflowLines,
    };
  });
  return {
    host: options.host,
    generated: options.now,
    first: data.first,
    last: data.last,
    lines: data.lines,
    ignored: data.ignored,
    cancelled: data.cancelled,
    attackerCount: data.attackers.length + data.attackerOverflow,
    attackerLines: data.attackerLines,
    blockedCount: data.attackers.filter((a) => a.blockedAt !== null || a.repeatsAfterBlock > 0).length,
    attackers: shown,
    attackersStill,
    moreAttackers: fresh.length - shown.length + data.attackerOverflow,
    sections,
    daemon: data.daemon,
    maxBytes: options.maxBytes,
  };
}

/** Whether the digest has anything to say (logcheck sends nothing when nothing is left). */
export function viewIsEmpty(view: DigestView): boolean {
  return (
    view.attackers.length === 0 &&
    view.attackersStill.length === 0 &&
    view.sections.length === 0 &&
    view.daemon.lines === 0
  );
}

/** What `view` listed, to be read by the next digest. */
export function listingOf(view: DigestView): PreviousListing {
  return {
    attackers: [...view.attackers.map((a) => a.address), ...view.attackersStill.map((s) => s.key)],
    templates: view.sections.flatMap((s) => [
      ...s.rows.map((r) => templateKey(s.heading, r)),
      ...s.still.map((r) => r.key),
    ]),
  };
}
