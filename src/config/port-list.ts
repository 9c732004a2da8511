/**
 * @module config/port-list
 * Port lists as written in portsentry.conf: `1,11,15` (1.2) and `1-1024,31337` ranges (2.x). Where 1.2
 * turned a bad item into port 0 (a random port) or dropped entries past 64, we say so instead.
 */

export const PORTSENTRY_MAX_PORT_ENTRIES = 64;

export interface PortListResult {
  /** Unique ports, in the order first written. */
  ports: number[];
  errors: string[];
  warnings: string[];
}

export function parsePortList(text: string): PortListResult {
  const ports: number[] = [];
  const seen = new Set<number>();
  const errors: string[] = [];
  const warnings: string[] = [];
  const items = text.split(',').map((item) => item.trim());
  const nonEmpty = items.filter((item) => item !== '');
  if (nonEmpty.length !== items.length && nonEmpty.length > 0) {
    warnings.push('empty entries between commas are skipped');
  }
  if (nonEmpty.length > PORTSENTRY_MAX_PORT_ENTRIES) {
    warnings.push(
      `${nonEmpty.length} entries: PortSentry 1.2 would silently use only the first ${PORTSENTRY_MAX_PORT_ENTRIES}; portsnare uses them all`,
    );
  }
  const duplicates = new Set<number>();
  for (const item of nonEmpty) {
    const match = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(item);
    if (!match) {
      errors.push(`"${item}" is not a port or a range a-b (PortSentry 1.2 would have watched a random port)`);
      continue;
    }
    const low = Number(match[1]);
    const high = match[2] === undefined ? low : Number(match[2]);
    const bad = [low, high].find((p) => p < 1 || p > 65535);
    if (bad !== undefined) {
      errors.push(`port ${bad} in "${item}" is out of range 1-65535`);
      continue;
    }
    if (low > high) {
      errors.push(`range "${item}" runs backwards`);
      continue;
    }
    for (let port = low; port <= high; port++) {
      if (seen.has(port)) {
        duplicates.add(port);
        continue;
      }
      seen.add(port);
      ports.push(port);
    }
  }
  if (duplicates.size > 0) {
    const list = [...duplicates].slice(0, 10).join(', ');
    warnings.push(
      `port${duplicates.size > 1 ? 's' : ''} listed more than once: ${list}${duplicates.size > 10 ? ', ...' : ''}`,
    );
  }
  return { ports, errors, warnings };
}
