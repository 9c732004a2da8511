/**
 * @module logcheck/ere
 * Translation of one logcheck rule, a GNU `grep -E` pattern (POSIX ERE plus GNU extensions), into
 * the source of a JS RegExp with the same set of matching lines, and the error for a rule GNU grep
 * rejects. Logcheck hands every rule file to `grep -E -f`, so a drop-in replacement must read the
 * rules exactly as grep 3.8 does, quirks included (logcheck.md §1.10).
 *
 * Only "does the line match somewhere" matters to logcheck, so POSIX leftmost-longest versus JS
 * leftmost-first never changes an answer; what has to be exact is the parse. Every rule below was
 * checked against grep 3.8 (LC_ALL=C.UTF-8) by hand and is kept honest by ere.test.ts, which runs
 * grep itself:
 *
 * - `*`, `+`, `?` and an interval with nothing before them (start of the pattern, after `(` or
 *   `|`, after `\<` `\>` `\b` `\B` `` \` `` `\'`) are dropped, not literal: `*a` matches "a" (grep
 *   only warns "* at start of expression"). Followed by `)` inside a group it is an error
 *   ("Unmatched ( or \("), as grep says for `a(*)`.
 * - `^` and `$` are anchors anywhere (`a^b` never matches) and can be repeated: `^*a` matches "ba".
 * - `{` that does not start a valid interval (`a{`, `a{x}`, `a{1`) is a literal; `{,n}` is
 *   `{0,n}`; `{}` , `{n,m}` with n > m and counts over 32767 are errors.
 * - A `)` with no open group is a literal; an unclosed `(` is an error.
 * - `\1`-`\9` refer to a group closed earlier in the same alternative (grep rejects `(a\1)`,
 *   `\1(a)` and `(a)|b\1`); `\d`, `\t` and any other unknown escape are the letter itself.
 * - In a bracket a backslash is literal, `]` first is literal, `-` first or last is literal,
 *   ranges are by code point (C.UTF-8 collation), `[[.x.]]` and `[[=x=]]` accept one ASCII
 *   character, `[:alpha:]` outside a bracket is an error, as is `[a-c-e]`.
 *
 * Locale: C.UTF-8, the one the fixtures were made in (logcheck runs grep in whatever locale cron's
 * pam_env gives it; in the C locale `é` would not be alpha, a difference only non-ASCII lines can
 * show). Classes are Unicode-aware as glibc's C.UTF-8 tables are: alpha is
 * Alphabetic plus non-ASCII decimal digits (`é` is alpha, grep agrees), alnum adds 0-9, digit and
 * xdigit stay ASCII, space is the ASCII six plus Unicode spaces except the no-break ones (U+00A0,
 * U+2007, U+202F), punct is graph minus alnum (so U+00A0 is punct, as grep says), cntrl is Cc, Zl
 * and Zp. `\w` is alnum plus `_`, and `\b` `\<` `\>` use that class (JS's own `\b` is ASCII-only).
 * `.` matches anything but a newline (a line never holds one; `\r` and NUL do match, as with
 * logcheck's `grep --text`). The RegExp gets the `v` flag (set operations for alpha = alnum minus
 * 0-9; Node 20 has it). Each rule also gets an ASCII form, right only for pure-ASCII lines and
 * faster (see ASCII below).
 *
 * Differences left: a back-reference to a group that did not take part in the match matches the
 * empty string in JS but fails in glibc; only three Debian rules use back-references and none can
 * hit the case. Input that is not valid UTF-8 was already decoded (U+FFFD) before it reaches here.
 */
import { ErrorCodes, PortsnareError } from '../errors.ts';

/** A rule GNU grep would refuse; `reason` is grep's own wording where it has one. */
export class RuleSyntaxError extends PortsnareError {
  readonly pattern: string;
  readonly reason: string;

  constructor(pattern: string, reason: string) {
    super(ErrorCodes.RULE_SYNTAX, `invalid rule ${JSON.stringify(pattern)}: ${reason}`);
    this.name = 'RuleSyntaxError';
    this.pattern = pattern;
    this.reason = reason;
  }
}

/** glibc's RE_DUP_MAX: larger interval counts are "Regular expression too big". */
const DUP_MAX = 32767;

/** How one character set (Unicode C.UTF-8, or its ASCII part) is spelled in JS. */
interface Charset {
  readonly flags: string;
  readonly classes: Readonly<Record<string, string>>;
  /** Class bodies of `\w` and `\s`. */
  readonly word: string;
  readonly space: string;
  /** A literal outside a class. */
  literal(ch: string): string;
  /** Class body for the code points lo..hi (lo === hi for one character); '' when none. */
  range(lo: number, hi: number): string;
}

/** A syntax character of JS patterns, escaped with a backslash outside classes. */
const SYNTAX = '^$\\.*+?()[]{}|/';

// Class bodies, written to sit inside a `v`-flag character class.
const SPACE = '\\t-\\r\\x20\\u1680\\u2000-\\u2006\\u2008-\\u200A\\u2028\\u2029\\u205F\\u3000';
const BLANK = '\\t\\x20\\u1680\\u2000-\\u2006\\u2008-\\u200A\\u205F\\u3000';
const ALNUM = '\\p{Alphabetic}\\p{Nd}';
const PRINT = '[^\\p{Cc}\\p{Zl}\\p{Zp}\\p{Cn}\\p{Cs}]';
const hex = (cp: number): string => `\\u{${cp.toString(16)}}`;

const UNICODE: Charset = {
  flags: 'v',
  classes: {
    alnum: ALNUM,
    alpha: `[[${ALNUM}]--[0-9]]`,
    digit: '0-9',
    xdigit: '0-9A-Fa-f',
    upper: '\\p{Uppercase}',
    lower: '\\p{Lowercase}',
    space: SPACE,
    blank: BLANK,
    cntrl: '\\p{Cc}\\p{Zl}\\p{Zp}',
    print: PRINT,
    graph: `[${PRINT}--[${SPACE}]]`,
    punct: `[${PRINT}--[${SPACE}${ALNUM}]]`,
  },
  word: `${ALNUM}_`,
  space: SPACE,
  literal(ch) {
    if (SYNTAX.includes(ch)) return '\\' + ch;
    const cp = ch.codePointAt(0) ?? 0;
    return cp < 0x20 || cp === 0x7f ? hex(cp) : ch;
  },
  range(lo, hi) {
    const one = (cp: number): string =>
      /[A-Za-z0-9]/.test(String.fromCodePoint(cp)) ? String.fromCodePoint(cp) : hex(cp);
    return lo === hi ? one(lo) : `${one(lo)}-${one(hi)}`;
  },
};

/**
 * The same classes cut down to ASCII, for lines that are pure ASCII (nearly all syslog lines): on
 * such a line only the ASCII members of a class can ever match, so the answer is the same, and a
 * RegExp without the `u`/`v` flag and without Unicode property tables runs faster (measured in
 * logcheck/rules).
 */
const ASCII: Charset = {
  flags: '',
  classes: {
    alnum: 'A-Za-z0-9',
    alpha: 'A-Za-z',
    digit: '0-9',
    xdigit: '0-9A-Fa-f',
    upper: 'A-Z',
    lower: 'a-z',
    space: '\\t-\\r ',
    blank: '\\t ',
    cntrl: '\\x00-\\x1f\\x7f',
    print: ' -~',
    graph: '!-~',
    punct: '!-\\/:-@\\[-`{-~',
  },
  word: 'A-Za-z0-9_',
  space: '\\t-\\r ',
  literal(ch) {
    if (SYNTAX.includes(ch)) return '\\' + ch;
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0x80) return '[]'; // never on an ASCII line
    return cp < 0x20 || cp === 0x7f ? `\\x${cp.toString(16).padStart(2, '0')}` : ch;
  },
  range(lo, hi) {
    if (lo > 0x7f) return '';
    const top = Math.min(hi, 0x7f);
    const one = (cp: number): string =>
      /[A-Za-z0-9]/.test(String.fromCharCode(cp))
        ? String.fromCharCode(cp)
        : `\\x${cp.toString(16).padStart(2, '0')}`;
    return lo === top ? one(lo) : `${one(lo)}-${one(top)}`;
  },
};

/** One top-level alternative of a rule, cut into the JS sources of its pieces (atom + quantifiers). */
export type EreBranch = readonly string[];

/** A rule in one spelling: the RegExp source, its flags, and its alternatives as piece lists. */
export interface EreForm {
  readonly source: string;
  readonly flags: string;
  /**
   * The top-level alternatives as piece lists, for merging many rules into one RegExp
   * (logcheck/rules). Groups are non-capturing in these unless the rule has back-references, in
   * which case there is one branch holding the whole source.
   */
  readonly branches: readonly EreBranch[];
}

export interface EreTranslation {
  /** For any line (flag `v`, C.UTF-8 classes). */
  readonly unicode: EreForm;
  /** Only for lines made of ASCII characters: same answers there, faster (no flag). */
  readonly ascii: EreForm;
  /** True when the rule uses `\1`-`\9` (its groups must then keep their numbers). */
  readonly backrefs: boolean;
}

/** A piece under construction: its source and whether a quantifier may follow it without a wrap. */
interface Piece {
  src: string;
  /** Already quantified, or a lookaround: a further quantifier needs `(?:...)` around it. */
  wrap: boolean;
}

class Parser {
  readonly #chars: string[];
  readonly #pattern: string;
  #pos = 0;
  #groups = 0;
  /** Groups closed so far in the current alternative (glibc's completed_bkref_map). */
  #completed = new Set<number>();
  readonly #capture: boolean;
  readonly #cs: Charset;
  backrefs = false;

  constructor(pattern: string, capture: boolean, charset: Charset) {
    this.#pattern = pattern;
    this.#chars = Array.from(pattern);
    this.#capture = capture;
    this.#cs = charset;
  }

  #fail(reason: string): never {
    throw new RuleSyntaxError(this.#pattern, reason);
  }

  #peek(offset = 0): string | undefined {
    return this.#chars[this.#pos + offset];
  }

  /** Top level: the alternatives as piece lists. */
  parseTop(): string[][] {
    const branches = this.#alternatives(0);
    if (this.#pos < this.#chars.length) this.#fail('internal: trailing input');
    return branches;
  }

  #alternatives(depth: number): string[][] {
    const start = new Set(this.#completed);
    const accumulated = new Set<number>();
    const branches: string[][] = [];
    for (;;) {
      this.#completed = new Set(start);
      branches.push(this.#branch(depth));
      for (const g of this.#completed) accumulated.add(g);
      if (this.#peek() === '|') {
        this.#pos++;
        continue;
      }
      break;
    }
    this.#completed = accumulated;
    return branches;
  }

  #branch(depth: number): string[] {
    const pieces: Piece[] = [];
    /** Whether a quantifier here has something to repeat (false at a branch start and after \<). */
    let repeatable = false;
    for (;;) {
      const ch = this.#peek();
      if (ch === undefined || ch === '|') break;
      if (ch === ')' && depth > 0) break;
      const quant = this.#quantifier();
      if (quant !== null) {
        if (!repeatable) {
          // GNU drops a quantifier with nothing to repeat ("* at start of expression"), but
          // refuses `(*)`.
          if (this.#peek() === ')' && depth > 0) this.#fail('Unmatched ( or \\(');
          continue;
        }
        const last = pieces[pieces.length - 1];
        if (last === undefined) this.#fail('internal: quantifier without piece');
        last.src = last.wrap ? `(?:${last.src})${quant}` : `${last.src}${quant}`;
        last.wrap = true;
        continue;
      }
      const atom = this.#atom(depth);
      pieces.push(atom.piece);
      repeatable = atom.repeatable;
    }
    return pieces.map((p) => p.src);
  }

  /** A quantifier at the cursor (consumed), or null (cursor unchanged). */
  #quantifier(): string | null {
    const ch = this.#peek();
    if (ch === '*' || ch === '+' || ch === '?') {
      this.#pos++;
      return ch;
    }
    if (ch !== '{') return null;
    // An interval is `{` digits? (`,` digits?)? `}`; anything else leaves `{` a literal.
    let i = this.#pos + 1;
    let min = '';
    let max = '';
    let comma = false;
    while (/[0-9]/.test(this.#chars[i] ?? '')) min += this.#chars[i++];
    if (this.#chars[i] === ',') {
      comma = true;
      i++;
      while (/[0-9]/.test(this.#chars[i] ?? '')) max += this.#chars[i++];
    }
    if (this.#chars[i] !== '}') return null;
    if (min === '' && !comma) this.#fail('Invalid content of \\{\\}');
    this.#pos = i + 1;
    const lo = min === '' ? 0 : Number(min);
    const hi = comma ? (max === '' ? Infinity : Number(max)) : lo;
    if (lo > DUP_MAX || (hi !== Infinity && hi > DUP_MAX)) this.#fail('Regular expression too big');
    if (lo > hi) this.#fail('Invalid content of \\{\\}');
    if (!comma) return `{${lo}}`;
    return hi === Infinity ? `{${lo},}` : `{${lo},${hi}}`;
  }

  #atom(depth: number): { piece: Piece; repeatable: boolean } {
    const ch = this.#chars[this.#pos++] as string;
    const plain = (src: string): { piece: Piece; repeatable: boolean } => ({
      piece: { src, wrap: false },
      repeatable: true,
    });
    switch (ch) {
      case '(': {
        const index = ++this.#groups;
        const inner = this.#alternatives(depth + 1);
        if (this.#peek() !== ')') this.#fail('Unmatched ( or \\(');
        this.#pos++;
        this.#completed.add(index);
        const body = inner.map((b) => b.join('')).join('|');
        return plain(this.#capture ? `(${body})` : `(?:${body})`);
      }
      case ')':
        return plain('\\)');
      case '[':
        return plain(this.#bracket());
      case '.':
        return plain('[^\\n]');
      case '^':
      case '$':
        // Anchors are atoms to GNU: `^*` repeats the anchor. JS refuses a bare quantified
        // assertion, so mark it for wrapping.
        return { piece: { src: ch, wrap: true }, repeatable: true };
      case '\\':
        return this.#escape();
      default:
        return plain(this.#cs.literal(ch));
    }
  }

  #escape(): { piece: Piece; repeatable: boolean } {
    const ch = this.#chars[this.#pos++];
    if (ch === undefined) this.#fail('Trailing backslash');
    const assertion = (src: string): { piece: Piece; repeatable: boolean } => ({
      piece: { src, wrap: true },
      repeatable: false,
    });
    const plain = (src: string): { piece: Piece; repeatable: boolean } => ({
      piece: { src, wrap: false },
      repeatable: true,
    });
    if (ch >= '1' && ch <= '9') {
      const n = Number(ch);
      if (!this.#completed.has(n)) this.#fail('Invalid back reference');
      this.backrefs = true;
      return plain(`(?:\\${n})`);
    }
    const word = `[${this.#cs.word}]`;
    const notWord = `[^${this.#cs.word}]`;
    switch (ch) {
      case 'w':
        return plain(word);
      case 'W':
        return plain(notWord);
      case 's':
        return plain(`[${this.#cs.space}]`);
      case 'S':
        return plain(`[^${this.#cs.space}]`);
      case 'b':
        return assertion(`(?:(?<=${word})(?!${word})|(?<!${word})(?=${word}))`);
      case 'B':
        return assertion(`(?:(?<=${word})(?=${word})|(?<!${word})(?!${word}))`);
      case '<':
        return assertion(`(?<!${word})(?=${word})`);
      case '>':
        return assertion(`(?<=${word})(?!${word})`);
      case '`':
        return assertion('^');
      case "'":
        return assertion('$');
      default:
        // GNU: any other escaped character is itself (`\d` is "d", `\.` is "."); grep 3.8 only
        // warns about "stray \".
        return plain(this.#cs.literal(ch));
    }
  }

  /** A bracket expression; the cursor is just past `[`. */
  #bracket(): string {
    const open = this.#pos - 1;
    let negate = false;
    if (this.#peek() === '^') {
      negate = true;
      this.#pos++;
    }
    const items: string[] = [];
    let first = true;
    const unmatched = (): never => this.#fail('Unmatched [, [^, [:, [., or [=');
    /** One end of a range or a single member: a character (or collating symbol) or a class. */
    const element = (): { ch: string } | { cls: string } => {
      const c = this.#chars[this.#pos];
      if (c === undefined) unmatched();
      if (c === '[') {
        const kind = this.#chars[this.#pos + 1];
        if (kind === ':' || kind === '.' || kind === '=') {
          const end = this.#findClose(this.#pos + 2, kind);
          if (end < 0) unmatched();
          const name = this.#chars.slice(this.#pos + 2, end).join('');
          this.#pos = end + 2;
          if (kind === ':') {
            const cls = this.#cs.classes[name];
            if (cls === undefined) this.#fail('Invalid character class name');
            return { cls };
          }
          const cp = name.codePointAt(0) ?? 0x80;
          if (Array.from(name).length !== 1 || cp >= 0x80) this.#fail('Invalid collation character');
          return kind === '.' ? { ch: name } : { cls: this.#cs.range(cp, cp) };
        }
      }
      this.#pos++;
      return { ch: c as string };
    };
    for (;;) {
      const c = this.#peek();
      if (c === undefined) unmatched();
      if (c === ']' && !first) {
        this.#pos++;
        break;
      }
      first = false;
      const lo = element();
      if (this.#peek() === '-' && this.#peek(1) !== ']' && this.#peek(1) !== undefined) {
        this.#pos++;
        const hi = element();
        if (!('ch' in lo) || !('ch' in hi)) this.#fail('Invalid range end');
        const a = lo.ch.codePointAt(0) ?? 0;
        const b = hi.ch.codePointAt(0) ?? 0;
        if (a > b) this.#fail('Invalid range end');
        // `[a-c-e]`: a range end followed by `-` and more is an error to glibc.
        if (this.#peek() === '-' && this.#peek(1) !== ']') this.#fail('Invalid range end');
        items.push(this.#cs.range(a, b));
      } else if ('ch' in lo) {
        const cp = lo.ch.codePointAt(0) ?? 0;
        items.push(this.#cs.range(cp, cp));
      } else {
        items.push(lo.cls);
      }
    }
    const text = this.#chars.slice(open, this.#pos).join('');
    // grep's own check: `[:space:]` where `[[:space:]]` was meant.
    if (/^\[:[a-z]+:\]$/.test(text)) {
      this.#fail('character class syntax is [[:space:]], not [:space:]');
    }
    const body = items.join('');
    // An ASCII cut of a class may be empty: `[]` never matches and `[^]` always does, as meant.
    return `[${negate ? '^' : ''}${body}]`;
  }

  /** Index of the `kind` of a closing `kind]` at or after `from`, or -1. */
  #findClose(from: number, kind: string): number {
    for (let i = from; i + 1 < this.#chars.length; i++) {
      if (this.#chars[i] === kind && this.#chars[i + 1] === ']') return i;
    }
    return -1;
  }
}

/**
 * Translates one GNU ERE rule. Throws RuleSyntaxError for a rule grep would refuse (exit 2).
 */
export function translateEre(pattern: string): EreTranslation {
  const form = (charset: Charset): { form: EreForm; backrefs: boolean } => {
    // Groups are non-capturing unless back-references need their numbers (3 Debian rules of
    // 1,925): parse that way first, and again with capturing groups only when a `\N` showed up.
    const bare = new Parser(pattern, false, charset);
    const branches = bare.parseTop();
    if (!bare.backrefs) {
      const source = branches.map((b) => b.join('')).join('|');
      return { form: { source, flags: charset.flags, branches }, backrefs: false };
    }
    const source = new Parser(pattern, true, charset)
      .parseTop()
      .map((b) => b.join(''))
      .join('|');
    return { form: { source, flags: charset.flags, branches: [[source]] }, backrefs: true };
  };
  const unicode = form(UNICODE);
  return { unicode: unicode.form, ascii: form(ASCII).form, backrefs: unicode.backrefs };
}

/** True when every character of `line` is ASCII, so the `ascii` forms answer for it. */
export function isAscii(line: string): boolean {
  return ASCII_LINE.test(line);
}
// eslint-disable-next-line no-control-regex -- the whole ASCII range, controls included, is meant
const ASCII_LINE = /^[\x00-\x7f]*$/;

/**
 * One GNU ERE rule as a JS RegExp; `.test(line)` answers as `grep -E -q` would. With `ascii`, the
 * faster form that is only right for ASCII lines.
 */
export function compileEre(pattern: string, options: { ascii?: boolean } = {}): RegExp {
  const t = translateEre(pattern);
  const f = options.ascii === true ? t.ascii : t.unicode;
  try {
    return new RegExp(f.source, f.flags);
  } catch (err) {
    // A translation JS refuses is a bug here, but the caller still deserves the rule's name.
    throw new RuleSyntaxError(pattern, `cannot be translated: ${(err as Error).message}`);
  }
}
