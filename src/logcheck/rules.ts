/**
 * @module logcheck/rules
 * Loading a logcheck rule tree (/etc/logcheck or any other root) the way logcheck 1.4.2 does, and
 * turning each rule file, or any union of rule files, into one fast line matcher.
 *
 * Loading follows logcheck's `cleanrules` (logcheck.md §1.5): a directory's files are the names
 * `run-parts --list` accepts (only `[A-Za-z0-9_-]`, so `local.rules`, `x.dpkg-old`, `local~` are
 * skipped), in C byte order as bash's glob in the cleaned copy lists them; lines that are empty or
 * whitespace-only (`^[[:space:]]*$`) or whose first character is `#` are dropped, anything else is
 * a rule, an indented `#` included. Any readable-check failure of a regular file in the directory
 * (even one run-parts skips: logcheck tests `$dir/*` before listing) is an error naming it. The
 * ignore.d directories of the active levels are merged, same-named files concatenated
 * (workstation = workstation + server + paranoid). cracking.ignore.d is read only when
 * SUPPORT_CRACKING_IGNORE is on. Where logcheck lets grep fail silently on a rule that does not
 * compile (a whole section vanishes, §1.11), loading fails with a RuleFileError naming file and
 * line.
 *
 * Matching: logcheck runs one grep per file (~180 passes over the batch at level server). Here the
 * rules of a matcher are merged into at most a few RegExps: each rule's top-level alternatives are
 * cut into pieces (logcheck/ere) and put in a trie, so the ~1,500 rules of level server that share
 * Debian's prefix `^(\w{3} [ :[:digit:]]{11}|[0-9T:.+-]{32}) [._[:alnum:]-]+ ` are tried once up to
 * the program name and fan out only there: `^(?:P(?:sshd...|cron...|...))`. For "does any rule
 * match", `AB|AC` and `A(?:B|C)` accept the same lines, and a rule that is a prefix of another
 * makes the longer one redundant, so the trie is exact. Rules anchored with `^` and unanchored
 * rules go to separate RegExps (one unanchored alternative would make V8 try every start position
 * for all of them); rules with back-references keep their own RegExp, with their group numbers.
 *
 * ASCII lines (nearly all syslog) are matched by RegExps built from the rules' ASCII forms, without
 * the `v` flag and Unicode property tables: 374,000 -> 600,000 lines/s for the System Events filter
 * below; other lines get the Unicode forms, compiled on first need.
 *
 * Measured with `node --import tsx scripts/bench/logcheck-rules.ts` (node 20.20, 2 CPUs shared with
 * other jobs: figures vary by up to 40 % with the load): level server, 1,555 rules, the two fixture
 * samples repeated to 458,000 lines (50.8 MB; 60 % of them PortSentry lines no rule ignores, the
 * slow case where every alternative is tried). System Events filter alone (ignore.d.server +
 * paranoid, cracking.d, violations.d merged): 690,000-710,000 lines/s at load 3 (390,000 at load
 * 6). Whole classify() (logcheck/classify): 0.85-0.89 s best of 5, 0.90-1.00 s first run, i.e.
 * 51-60 MB/s, 19-22x logcheck's 2.67 MB/s on the same content (logcheck.md §1.12; reading,
 * sorting and stripping the batch not included). That left the 53-way fan-out after Debian's
 * common prefix, whose broad children (`[[:alnum:]-]+`, `.*`, optional groups) V8 tries one by one
 * on a line no rule ignores (2-4 us such a line, 0.2-1.5 us an ignored one); anchored rules that
 * share a syslog head are now dispatched by the character after the head instead
 * (logcheck/head-dispatch: 0.3 us a line for that part instead of 0.8-1.3 us). Guarding the
 * unanchored alternatives with String.prototype.includes of their leading literals was tried and
 * was slower (900 vs 470 ns a line for the 12 of level server). Load + compile of the tree: ~1 s.
 */
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, PortsnareError, systemErrorCode } from '../errors.ts';
import { isAscii, RuleSyntaxError, translateEre, type EreForm, type EreTranslation } from './ere.ts';
import { dispatchHeads } from './head-dispatch.ts';
import { trieSource } from './regex-trie.ts';

/** The report levels, from the fewest ignore rules to the most. */
export type ReportLevel = 'paranoid' | 'server' | 'workstation';

/** The ignore.d directories each level merges (logcheck's REPORTLEVELS, same order). */
/** Every rule directory logcheck reads, in the order this module describes them. */
export const RULE_DIRS = [
  'cracking.d',
  'cracking.ignore.d',
  'violations.d',
  'violations.ignore.d',
  'ignore.d.paranoid',
  'ignore.d.server',
  'ignore.d.workstation',
] as const;

export const LEVEL_DIRS: Readonly<Record<ReportLevel, readonly string[]>> = {
  workstation: ['ignore.d.workstation', 'ignore.d.server', 'ignore.d.paranoid'],
  server: ['ignore.d.server', 'ignore.d.paranoid'],
  paranoid: ['ignore.d.paranoid'],
};

/** A rule file that cannot be read, or a rule in it that does not compile. */
export class RuleFileError extends PortsnareError {
  readonly file: string;
  /** 1-based line of the rule, or null when the file itself could not be read. */
  readonly line: number | null;
  readonly pattern: string | null;
  readonly reason: string;

  constructor(file: string, line: number | null, pattern: string | null, reason: string, cause?: unknown) {
    const where = line === null ? file : `${file}:${line}`;
    const what = pattern === null ? reason : `${reason} in rule ${JSON.stringify(pattern)}`;
    super(ErrorCodes.RULE_FILE, `${where}: ${what}`, { cause });
    this.name = 'RuleFileError';
    this.file = file;
    this.line = line;
    this.pattern = pattern;
    this.reason = reason;
  }
}

/** One rule, where it came from, and its translation. */
export interface Rule {
  readonly file: string;
  readonly line: number;
  readonly pattern: string;
  readonly ere: EreTranslation;
}

export interface LineMatcher {
  /**
   * True when any rule matches somewhere in `line` (grep -E semantics). `ascii`, when given, must
   * be isAscii(line) (logcheck/ere): a caller testing one line against several matchers computes
   * it once.
   */
  test(line: string, ascii?: boolean): boolean;
}

/** A rule file as logcheck sees it in its cleaned copy (same-named level files merged). */
export interface RuleFile extends LineMatcher {
  readonly name: string;
  readonly rules: readonly Rule[];
}

/** One cleaned rule directory: its files in logcheck's order. */
export interface RuleDir {
  readonly files: readonly RuleFile[];
  /** The file of that name, if the directory has it. */
  get(name: string): RuleFile | undefined;
}

export interface RuleTree {
  readonly ruleDir: string;
  readonly level: ReportLevel;
  /** cracking.d (empty when missing). */
  readonly cracking: RuleDir;
  /**
   * cracking.ignore.d: null when SUPPORT_CRACKING_IGNORE is off. With it on and the directory
   * missing, logcheck skips the alert layer entirely: `alertsSkipped` is then true.
   */
  readonly crackingIgnore: RuleDir | null;
  readonly alertsSkipped: boolean;
  readonly violations: RuleDir;
  readonly violationsIgnore: RuleDir;
  /** The merged ignore.d.* of the level. */
  readonly ignore: RuleDir;
}

export interface LoadOptions {
  /** Rule root; default /etc/logcheck. */
  readonly ruleDir?: string;
  /** Default server, as logcheck's. */
  readonly level?: ReportLevel;
  /** SUPPORT_CRACKING_IGNORE=1. Default off, as logcheck's. */
  readonly supportCrackingIgnore?: boolean;
}

/** run-parts' name rule (Debian run-parts without --lsbsysinit / --regex). */
const RUN_PARTS_NAME = /^[A-Za-z0-9_-]+$/;
/** What cleanrules drops: `^[[:space:]]*$|^#`, with [[:space:]] as in logcheck/ere. */
const DROPPED = /^(?:[\t-\r\x20\u1680\u2000-\u2006\u2008-\u200A\u2028\u2029\u205F\u3000]*$|#)/u;

/** C-locale byte order of names (they are ASCII after the run-parts filter). */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The rules of one file; throws RuleFileError for an unreadable file or a rule that does not compile. */
export function parseRuleText(file: string, text: string): Rule[] {
  const lines = text.split('\n');
  // A final newline does not start another line (grep -f reads lines the same way).
  if (lines[lines.length - 1] === '') lines.pop();
  const rules: Rule[] = [];
  lines.forEach((pattern, i) => {
    if (DROPPED.test(pattern)) return;
    let ere: EreTranslation;
    try {
      ere = translateEre(pattern);
    } catch (err) {
      if (err instanceof RuleSyntaxError) throw new RuleFileError(file, i + 1, pattern, err.reason, err);
      throw err;
    }
    rules.push({ file, line: i + 1, pattern, ere });
  });
  return rules;
}

function readRuleFile(path: string): Rule[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RuleFileError(path, null, null, `could not read (${systemErrorCode(err) ?? String(err)})`, err);
  }
  return parseRuleText(path, text);
}

/** The run-parts names of a directory, each with its rules; null when the directory is missing. */
function readDir(path: string): Map<string, Rule[]> | null {
  let names: string[];
  try {
    names = readdirSync(path);
  } catch (err) {
    if (systemErrorCode(err) === 'ENOENT' || systemErrorCode(err) === 'ENOTDIR') return null;
    throw new RuleFileError(path, null, null, `could not list (${systemErrorCode(err) ?? String(err)})`, err);
  }
  const out = new Map<string, Rule[]>();
  for (const name of names.sort(byteOrder)) {
    if (name.startsWith('.')) continue;
    const file = join(path, name);
    let regular: boolean;
    try {
      regular = statSync(file).isFile();
    } catch {
      continue; // a dangling symlink: neither logcheck's -f test nor run-parts sees a file
    }
    if (!regular) continue;
    if (!RUN_PARTS_NAME.test(name)) {
      // logcheck checks every `$dir/*` for readability before run-parts filters the names.
      try {
        accessSync(file, constants.R_OK);
      } catch (err) {
        throw new RuleFileError(
          file,
          null,
          null,
          `could not read (${systemErrorCode(err) ?? String(err)})`,
          err,
        );
      }
      continue;
    }
    out.set(name, readRuleFile(file));
  }
  return out;
}

function makeDir(files: Map<string, Rule[]>): RuleDir {
  const list: RuleFile[] = [...files.entries()]
    .sort(([a], [b]) => byteOrder(a, b))
    .map(([name, rules]) => {
      // Compiled on first use: classify() tests most files only through merged matchers.
      let matcher: LineMatcher | null = null;
      return {
        name,
        rules,
        test: (line: string, ascii?: boolean) => (matcher ??= compileRules(rules)).test(line, ascii),
      };
    });
  const byName = new Map(list.map((f) => [f.name, f]));
  return { files: list, get: (name) => byName.get(name) };
}

const EMPTY_DIR: RuleDir = { files: [], get: () => undefined };

/** Loads the rule tree logcheck would use for this level and configuration. */
export function loadRuleTree(options: LoadOptions = {}): RuleTree {
  const ruleDir = options.ruleDir ?? '/etc/logcheck';
  const level = options.level ?? 'server';
  const dir = (name: string): RuleDir => {
    const files = readDir(join(ruleDir, name));
    return files === null ? EMPTY_DIR : makeDir(files);
  };
  const merged = new Map<string, Rule[]>();
  for (const name of LEVEL_DIRS[level]) {
    for (const [file, rules] of readDir(join(ruleDir, name)) ?? []) {
      merged.set(file, [...(merged.get(file) ?? []), ...rules]);
    }
  }
  let crackingIgnore: RuleDir | null = null;
  let alertsSkipped = false;
  if (options.supportCrackingIgnore === true) {
    const files = readDir(join(ruleDir, 'cracking.ignore.d'));
    if (files === null) alertsSkipped = true;
    else crackingIgnore = makeDir(files);
  }
  return {
    ruleDir,
    level,
    cracking: dir('cracking.d'),
    crackingIgnore,
    alertsSkipped,
    violations: dir('violations.d'),
    violationsIgnore: dir('violations.ignore.d'),
    ignore: makeDir(merged),
  };
}

// ---------------------------------------------------------------------------------------------
// Merging many rules into few RegExps.

/** RegExps for a list of branches, split in halves while V8 finds one too big. */
function compileBranches(branches: (readonly string[])[], anchored: boolean, flags: string): RegExp[] {
  if (branches.length === 0) return [];
  const body = trieSource(branches, anchored ? 1 : 0);
  try {
    return [new RegExp(anchored ? `^${body === '' ? '' : `(?:${body})`}` : body, flags)];
  } catch (err) {
    if (branches.length === 1) {
      throw new PortsnareError(ErrorCodes.RULE_SYNTAX, `rule cannot be compiled: ${(err as Error).message}`);
    }
    const half = branches.length >> 1;
    return [
      ...compileBranches(branches.slice(0, half), anchored, flags),
      ...compileBranches(branches.slice(half), anchored, flags),
    ];
  }
}

/**
 * What any of the rules matches: head-dispatched groups (logcheck/head-dispatch) and RegExps; null
 * when some rule matches every line.
 */
function compileForms(
  forms: readonly { form: EreForm; backrefs: boolean }[],
): { tests: ((line: string) => boolean)[]; regexps: RegExp[] } | null {
  const anchored: (readonly string[])[] = [];
  const floating: (readonly string[])[] = [];
  const separate: RegExp[] = [];
  let flags = '';
  for (const { form, backrefs } of forms) {
    flags = form.flags;
    if (backrefs) {
      separate.push(new RegExp(form.source, form.flags));
      continue;
    }
    for (const branch of form.branches) {
      // An empty alternative (`a|`) matches every line, as in grep.
      if (branch.length === 0 || (branch.length === 1 && branch[0] === '^')) return null;
      (branch[0] === '^' ? anchored : floating).push(branch);
    }
  }
  const heads = dispatchHeads(anchored, flags);
  return {
    tests: heads.tests,
    regexps: [
      ...compileBranches(heads.rest, true, flags),
      ...compileBranches(floating, false, flags),
      ...separate,
    ],
  };
}

function anyTest(compiled: ReturnType<typeof compileForms>): (line: string) => boolean {
  if (compiled === null) return () => true;
  const tests = [...compiled.tests, ...compiled.regexps.map((re) => (line: string) => re.test(line))];
  if (tests.length === 0) return () => false;
  if (tests.length === 1) return tests[0]!;
  if (tests.length === 2) {
    const [a, b] = tests as [(line: string) => boolean, (line: string) => boolean];
    return (line) => a(line) || b(line);
  }
  return (line) => {
    for (const test of tests) if (test(line)) return true;
    return false;
  };
}

/**
 * One matcher for all these rules (a line matches when any rule does). ASCII lines go to RegExps
 * built from the rules' ASCII forms; the Unicode ones are built the first time a line needs them.
 */
export function compileRules(rules: readonly Rule[]): LineMatcher {
  const ascii = anyTest(compileForms(rules.map((r) => ({ form: r.ere.ascii, backrefs: r.ere.backrefs }))));
  let unicode: ((line: string) => boolean) | null = null;
  return {
    test(line, isAsciiLine = isAscii(line)) {
      if (isAsciiLine) return ascii(line);
      unicode ??= anyTest(
        compileForms(rules.map((r) => ({ form: r.ere.unicode, backrefs: r.ere.backrefs }))),
      );
      return unicode(line);
    },
  };
}

/** One matcher for the union of several rule files (e.g. a whole directory). */
export function anyOf(files: readonly RuleFile[]): LineMatcher {
  return compileRules(files.flatMap((f) => f.rules));
}
