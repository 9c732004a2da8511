/**
 * @module logcheck/batch
 * What logcheck does to the new lines before any rule sees them: all sources concatenated, sorted
 * as `sort -k 1,3 -s` sorts them (a stable sort on the text from the start of the line to the end
 * of its third whitespace-separated field, compared byte by byte as in the C locale; a field keeps
 * its leading blanks, so `Nov  2` sorts before `Nov 12`), or as `sort -u` with SORTUNIQ=1 (whole
 * lines, duplicates dropped), then trailing whitespace stripped (`sed 's/[[:space:]]\+$//'`). The
 * stripped text is what the rules see and what the report shows.
 */

/** The sort key of `sort -k 1,3` (no -b): the line up to the end of its third field. */
export function sortKey(line: string): string {
  return line.slice(0, sortKeyEnd(line));
}

/** Where `sortKey(line)` ends. */
export function sortKeyEnd(line: string): number {
  let fields = 0;
  let i = 0;
  const n = line.length;
  while (i < n) {
    // A field is its leading blanks and then non-blanks.
    while (i < n && isBlank(line.charCodeAt(i))) i++;
    while (i < n && !isBlank(line.charCodeAt(i))) i++;
    if (++fields === 3) return i;
  }
  return n;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/** Byte order of the C locale (UTF-16 code units order the same for the BMP; lines are latin1 or UTF-8 text). */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const compare = compareBytes;

/** `sed 's/[[:space:]]\+$//'`: [[:space:]] is space, \t, \n, \v, \f and \r. */
export function stripTrailing(line: string): string {
  let end = line.length;
  for (;;) {
    const c = line.charCodeAt(end - 1);
    if (c === 32 || (c >= 9 && c <= 13)) end--;
    else break;
  }
  return end === line.length ? line : line.slice(0, end);
}

/** Sorts the batch as logcheck does and strips trailing whitespace from every line. */
export function prepareBatch(lines: readonly string[], sortUniq: boolean): string[] {
  let sorted: string[];
  if (sortUniq) {
    sorted = [...lines].sort(compare);
    sorted = sorted.filter((line, i) => i === 0 || line !== sorted[i - 1]);
  } else {
    // Array.prototype.sort is stable (ES2019), so equal keys keep their input order, as -s does.
    const keyed = lines.map((line) => ({ line, key: sortKey(line) }));
    keyed.sort((a, b) => compare(a.key, b.key));
    sorted = keyed.map((k) => k.line);
  }
  return sorted.map(stripTrailing);
}
