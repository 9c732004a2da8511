/**
 * @module digest/previous
 * What the previous digest listed, kept in REPORT_STATE_DIR/previous.json, so the next one says
 * "still happening" instead of listing the same attackers and templates again. Only what was
 * shown is kept (the caps bound it); something that stops for one digest is listed in full when
 * it comes back. A missing or unreadable file means no previous digest: at worst a full listing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../logcheck/offsets.ts';

export interface PreviousListing {
  /** Addresses of the attackers listed (in full or as still happening). */
  readonly attackers: readonly string[];
  /** templateKey()s of the templates listed. */
  readonly templates: readonly string[];
}

const FILE = 'previous.json';
const SCHEMA = 1;

export function previousPath(stateDir: string): string {
  return join(stateDir, FILE);
}

export async function readPrevious(stateDir: string): Promise<PreviousListing | null> {
  let text: string;
  try {
    text = await readFile(previousPath(stateDir), 'utf8');
  } catch {
    return null;
  }
  try {
    const v = JSON.parse(text) as { schema?: unknown; attackers?: unknown; templates?: unknown };
    const strings = (x: unknown): string[] | null =>
      Array.isArray(x) && x.every((s) => typeof s === 'string') ? x : null;
    const attackers = strings(v.attackers);
    const templates = strings(v.templates);
    if (v.schema !== SCHEMA || attackers === null || templates === null) return null;
    return { attackers, templates };
  } catch {
    return null;
  }
}

export async function writePrevious(stateDir: string, listing: PreviousListing): Promise<void> {
  await writeFileAtomic(previousPath(stateDir), `${JSON.stringify({ schema: SCHEMA, ...listing })}\n`);
}
