/**
 * @module digest/render-json
 * The digest as JSON, schema `portsnare-digest/1` (documented in the README, "portsnare report"):
 * stable field names, times as ISO 8601 UTC strings, addresses canonical, every count a number.
 * A field is only ever added to this schema, never renamed or removed, without a new number.
 */
import { formatPortRanges } from './attackers.ts';
import type { DigestView } from './view.ts';

export const JSON_SCHEMA = 'portsnare-digest/1';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function renderJson(view: DigestView): string {
  const doc = {
    schema: JSON_SCHEMA,
    host: view.host,
    generated: iso(view.generated),
    first: iso(view.first),
    last: iso(view.last),
    lines: view.lines,
    ignored: view.ignored,
    cancelled: view.cancelled,
    daemon: {
      lines: view.daemon.lines,
      starts: view.daemon.starts,
      stops: view.daemon.stops,
      tcpPorts: view.daemon.tcpPorts,
      udpPorts: view.daemon.udpPorts,
      alertMails: view.daemon.alertMails,
    },
    attackers: {
      lines: view.attackerLines,
      total: view.attackerCount,
      blocked: view.blockedCount,
      more: view.moreAttackers,
      rows: view.attackers.map((a) => ({
        address: a.address,
        names: a.names,
        firstSeen: iso(a.firstSeen),
        lastSeen: iso(a.lastSeen),
        hits: a.hits,
        kinds: a.kinds,
        ports: a.ports.map((p) => ({ protocol: p.protocol, from: p.from, to: p.to })),
        portsText: formatPortRanges(a.ports),
        repeatsAfterBlock: a.repeatsAfterBlock,
        blockedAt: iso(a.blockedAt),
        blockedVia: a.blockedVia,
        stillBlocked: a.stillBlocked,
        unblocked: iso(a.unblocked),
        refusals: a.refusals,
        sshUsers: a.sshUsers,
        severity: a.severity,
      })),
      stillHappening: view.attackersStill.map((s) => ({ address: s.label, newHits: s.count })),
    },
    sections: view.sections.map((s) => ({
      kind: s.kind,
      heading: s.heading,
      lines: s.lines,
      more: { templates: s.moreRows, lines: s.moreLines },
      templates: s.rows.map((r) => ({
        program: r.program,
        template: r.template,
        count: r.count,
        first: iso(r.first),
        last: iso(r.last),
        example: r.example,
      })),
      stillHappening: s.still.map((x) => ({ template: x.label, newLines: x.count })),
    })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
