/**
 * @module logcheck/head-dispatch
 * Anchored rules that share a syslog head, such as Debian's
 * `^(\w{3} [ :[:digit:]]{11}|[0-9T:.+-]{32}) [._[:alnum:]-]+ ` (1,500 of the 1,555 rules of level
 * server), matched by finding where the head ends and then trying only the rules whose next
 * character can be the one found there. One RegExp with the head once and a 47-way fan-out after
 * it (logcheck/rules' trie) costs 0.8-1.3 us a line, because V8 tries the fan-out's alternatives one
 * by one; finding the head's end and running one sticky RegExp of the rules for that character costs
 * 0.3 us (scripts/bench/logcheck.ts, level server, the fixture sample).
 *
 * Exact, not a heuristic: a head is dispatched only when the place where it ends is determined by
 * the line. It must be a run of fixed-width atoms (a character, a class, either with `{n}`), groups
 * whose alternatives are such runs, and `[C]+` atoms each followed by a character C does not hold
 * (the `+` can then only stop at the end of the longest run of C). A group whose alternatives have
 * different widths can end in more than one place, so each alternative is tried as its own head
 * and every place found is tried. Anything else is left to logcheck/rules' merged RegExps.
 */
import { trieSource } from './regex-trie.ts';

/** One RegExp-source atom: `\xHH`, `\uHHHH`, `\X`, a class `[...]`, a group `(?:...)` or a character. */
function atomEnd(src: string, at: number): number {
  const c = src[at];
  if (c === '\\') {
    if (src[at + 1] === 'x') return at + 4;
    if (src[at + 1] === 'u') return src[at + 2] === '{' ? src.indexOf('}', at) + 1 : at + 6;
    return at + 2;
  }
  if (c === '[' || c === '(') {
    const close = c === '[' ? ']' : ')';
    let depth = 0;
    for (let i = at; i < src.length; i++) {
      const d = src[i];
      if (d === '\\') i++;
      else if (d === c) depth++;
      else if (d === close && --depth === 0) return i + 1;
    }
    return -1;
  }
  return at + 1;
}

/** The alternatives of a group source `(?:a|b)` (top level only), or null. */
function groupAlternatives(src: string): string[] | null {
  if (!src.startsWith('(?:') || atomEnd(src, 0) !== src.length) return null;
  const inner = src.slice(3, -1);
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < inner.length;) {
    if (inner[i] === '|') {
      out.push(inner.slice(from, i));
      from = ++i;
      continue;
    }
    const end = atomEnd(inner, i);
    if (end < 0) return null;
    i = end;
  }
  out.push(inner.slice(from));
  return out;
}

/** The number of characters `src` always matches, or -1 when that is not one fixed number. */
export function fixedWidth(src: string): number {
  let width = 0;
  for (let i = 0; i < src.length;) {
    const c = src[i]!;
    if ('*+?{}|^$.)'.includes(c)) return -1;
    const end = atomEnd(src, i);
    if (end < 0) return -1;
    let w = 1;
    if (c === '(') {
      const alternatives = groupAlternatives(src.slice(i, end));
      if (alternatives === null) return -1;
      const widths = new Set(alternatives.map(fixedWidth));
      if (widths.size !== 1 || widths.has(-1)) return -1;
      w = [...widths][0]!;
    }
    i = end;
    const times = /^\{([0-9]+)\}/.exec(src.slice(i));
    if (times) {
      w *= Number(times[1]);
      i += times[0].length;
    } else if (i < src.length && '*+?{'.includes(src[i]!)) {
      return -1;
    }
    width += w;
  }
  return width;
}

/** The one character a literal atom source (`a`, ` `, `\/`, `\x2e`, `\u00e9`) stands for, or null. */
function literalChar(src: string): string | null {
  if (src.length === 1) return '*+?{}()[]|^$.\\'.includes(src) ? null : src;
  const hex = /^\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4}))$/.exec(src);
  if (hex) return String.fromCharCode(parseInt(hex[1] ?? hex[2]!, 16));
  // `\X` for a punctuation X is X itself; `\d`, `\w`, `\b`... are not one character.
  return src.length === 2 && src[0] === '\\' && !/[A-Za-z0-9]/.test(src[1]!) ? src[1]! : null;
}

/** `[C]+` where C is a class: its class source, else null. */
function plusClass(piece: string): string | null {
  if (!piece.endsWith('+') || piece[0] !== '[') return null;
  const cls = piece.slice(0, -1);
  return atomEnd(cls, 0) === cls.length ? cls : null;
}

/**
 * How many pieces of `branch` (after its '^') make a dispatchable head, and that head's variants
 * (one per combination of alternatives of its unequal-width groups), or null.
 */
export function headOf(
  branch: readonly string[],
  flags: string,
): { length: number; variants: string[] } | null {
  let variants = [''];
  for (let i = 1; i < Math.min(branch.length - 1, 12); i++) {
    const piece = branch[i]!;
    const cls = plusClass(piece);
    if (cls !== null) {
      const next = literalChar(branch[i + 1]!);
      if (next === null || new RegExp(`^${cls}$`, flags).test(next)) return null;
      variants = variants.map((v) => v + piece + branch[i + 1]!);
      return { length: i + 2, variants };
    }
    if (fixedWidth(piece) >= 0) {
      variants = variants.map((v) => v + piece);
      continue;
    }
    const alternatives = groupAlternatives(piece);
    if (alternatives === null || alternatives.some((a) => fixedWidth(a) < 0)) return null;
    variants = variants.flatMap((v) => alternatives.map((a) => `${v}(?:${a})`));
    if (variants.length > 4) return null;
  }
  return null;
}

/** Atoms of a source with their quantifiers: `[x]+`, `(?:a|b)?`, `\x2e`. */
function atomsOf(src: string): { atom: string; nullable: boolean }[] | null {
  const out: { atom: string; nullable: boolean }[] = [];
  for (let i = 0; i < src.length;) {
    if ('*+?{}|)'.includes(src[i]!)) return null;
    const end = atomEnd(src, i);
    if (end < 0) return null;
    const atom = src.slice(i, end);
    i = end;
    const q = /^(?:[*+?]|\{([0-9]+)(?:,[0-9]*)?\})/.exec(src.slice(i));
    let nullable = false;
    if (q) {
      nullable = q[0] === '*' || q[0] === '?' || (q[1] !== undefined && Number(q[1]) === 0);
      i += q[0].length;
    }
    out.push({ atom, nullable });
  }
  return out;
}

/**
 * The ASCII characters that can begin a match of the atoms (pieces) `seq`, or null when that is
 * unknown or the whole can match nothing at all (then any character may follow).
 */
function firstOfSequence(seq: readonly string[], flags: string, depth = 0): Set<number> | null {
  const set = new Set<number>();
  for (const piece of seq) {
    const atoms = atomsOf(piece);
    if (atoms === null) return null;
    for (const { atom, nullable } of atoms) {
      const first = firstOfAtom(atom, flags, depth);
      if (first === null) return null;
      for (const c of first) set.add(c);
      if (!nullable) return set;
    }
  }
  return null;
}

const firstCache = new Map<string, Set<number> | null>();

function firstOfAtom(atom: string, flags: string, depth: number): Set<number> | null {
  if (atom === '^' || atom === '$' || depth > 8) return null;
  if (atom.startsWith('(')) {
    const alternatives = groupAlternatives(atom);
    if (alternatives === null) return null;
    const set = new Set<number>();
    for (const a of alternatives) {
      const first = firstOfSequence([a], flags, depth + 1);
      if (first === null) return null;
      for (const c of first) set.add(c);
    }
    return set;
  }
  const key = `${flags}/${atom}`;
  if (firstCache.has(key)) return firstCache.get(key)!;
  let set: Set<number> | null = new Set<number>();
  try {
    // The atom's own meaning, from the engine: which ASCII characters it matches.
    const re = new RegExp(`^${atom}$`, flags);
    for (let c = 0; c < 128; c++) if (re.test(String.fromCharCode(c))) set.add(c);
  } catch {
    set = null;
  }
  firstCache.set(key, set);
  return set;
}

/** A test for lines against anchored branches that share one head. */
function groupTest(
  variants: readonly string[],
  tails: readonly (readonly string[])[],
  flags: string,
): (line: string) => boolean {
  const heads = variants.map((v) => new RegExp(`^(?:${v})`, flags));
  if (tails.some((t) => t.length === 0)) return (line) => heads.some((h) => h.test(line));
  const byChar: (readonly string[])[][] = Array.from({ length: 128 }, () => []);
  const anyChar: (readonly string[])[] = [];
  for (const tail of tails) {
    const set = firstOfSequence(tail, flags);
    if (set === null) anyChar.push(tail);
    else for (const c of set) byChar[c]!.push(tail);
  }
  const sticky = (list: readonly (readonly string[])[]): RegExp | null =>
    list.length === 0 ? null : new RegExp(`(?:${trieSource(list)})`, `${flags}y`);
  // Built on first use: a log has few distinct program initials.
  const compiled = new Array<RegExp | null | undefined>(129);
  const forChar = (c: number): RegExp | null => {
    const slot = c < 128 ? c : 128;
    let re = compiled[slot];
    if (re === undefined) {
      re = slot === 128 ? sticky(tails) : sticky([...byChar[slot]!, ...anyChar]);
      compiled[slot] = re;
    }
    return re;
  };
  const at = (line: string, p: number): boolean => {
    const re = forChar(line.charCodeAt(p));
    if (re === null) return false;
    re.lastIndex = p;
    return re.test(line);
  };
  if (heads.length === 1) {
    const head = heads[0]!;
    return (line) => {
      const m = head.exec(line);
      return m !== null && at(line, m[0].length);
    };
  }
  return (line) => {
    let tried = -1;
    for (const head of heads) {
      const m = head.exec(line);
      if (m === null || m[0].length === tried) continue;
      tried = m[0].length;
      if (at(line, tried)) return true;
    }
    return false;
  };
}

/** Heads shared by fewer branches than this are left to the merged RegExps. */
const MIN_GROUP = 16;

/**
 * Splits anchored branches (each starting with the piece '^') into head groups, each with its
 * test, and the branches left over.
 */
export function dispatchHeads(
  branches: readonly (readonly string[])[],
  flags: string,
): { tests: ((line: string) => boolean)[]; rest: (readonly string[])[] } {
  const groups = new Map<string, { variants: string[]; length: number; branches: (readonly string[])[] }>();
  const rest: (readonly string[])[] = [];
  for (const branch of branches) {
    const head = headOf(branch, flags);
    if (head === null) {
      rest.push(branch);
      continue;
    }
    const key = branch.slice(1, head.length).join('');
    let group = groups.get(key);
    if (group === undefined) {
      group = { variants: head.variants, length: head.length, branches: [] };
      groups.set(key, group);
    }
    group.branches.push(branch);
  }
  const tests: ((line: string) => boolean)[] = [];
  for (const g of groups.values()) {
    if (g.branches.length < MIN_GROUP) {
      rest.push(...g.branches);
      continue;
    }
    tests.push(
      groupTest(
        g.variants,
        g.branches.map((b) => b.slice(g.length)),
        flags,
      ),
    );
  }
  return { tests, rest };
}
