// The .ts files below a directory (not .d.ts, not node_modules), sorted: what the import-graph and
// module-header checks read.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Every .ts file below `dir`, sorted; `tests: false` leaves out *.test.ts. */
export function listTs(dir, { tests = true } = {}) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .flatMap((e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return e.name === 'node_modules' ? [] : listTs(path, { tests });
      const ts = e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts');
      return ts && (tests || !e.name.endsWith('.test.ts')) ? [path] : [];
    })
    .sort();
}
