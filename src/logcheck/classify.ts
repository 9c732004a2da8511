/**
 * @module logcheck/classify
 * Logcheck 1.4.2's classification of a batch of log lines into Security Alerts, Security Events
 * and System Events, exactly as its `greplogoutput` and System Events passes do (logcheck.md
 * §1.6), given a loaded rule tree (logcheck/rules). Pure: lines in, sections out; the report text,
 * subject and mail belong to other modules.
 *
 * Logcheck's algorithm, kept with its quirks because a drop-in replacement must print the same
 * sections: for each raise file F (file-name order) the matching lines lose those matching the
 * cancel files `C/F` and `C/logcheck-F`; for the generic file `logcheck` also every cancel file
 * and every raise file whose name does not match bash's `^logcheck*` (so `logchec` followed by
 * any number of `k`: any name starting with "logchec"); then the "higher" directory (cracking.d
 * for events, only when an alert section was emitted); then `C/local` and every `C/local-*`. A
 * raise-matched line that a cancel rule removes is reported nowhere. System Events are all lines
 * minus any ignore rule of the level, minus any cracking.d and violations.d rule, whatever the
 * cancel directories say.
 *
 * Cost: logcheck runs one grep per file and filter (~180 passes at level server); here the batch
 * is read once against two merged matchers (any raise rule; any ignore rule of the level), and the
 * per-file steps run on the few lines some raise rule matched. Matchers are built once per tree.
 */
import { isAscii } from './ere.ts';
import { anyOf, type LineMatcher, type RuleDir, type RuleFile, type RuleTree } from './rules.ts';

export interface Subjects {
  /** ATTACKSUBJECT, default "Security Alerts". */
  readonly attack?: string;
  /** SECURITYSUBJECT, default "Security Events". */
  readonly security?: string;
  /** EVENTSSUBJECT, default "System Events". */
  readonly events?: string;
}

export interface Section {
  readonly heading: string;
  readonly lines: string[];
}

export interface Classification {
  /** Security Alerts sections, in file-name order. */
  readonly alerts: Section[];
  /** Security Events sections, in file-name order. */
  readonly events: Section[];
  /** The System Events lines (empty: no section). */
  readonly system: string[];
  /** EVENTSSUBJECT, the heading of the System Events section. */
  readonly systemHeading: string;
  /** logcheck's ATTACK / SECURITY / SYSTEM flags: which layers emitted a section. */
  readonly fired: { readonly attack: boolean; readonly security: boolean; readonly system: boolean };
}

/** Merged matchers per directory (and per purpose), built once for a tree. */
const cache = new WeakMap<RuleDir, Map<string, LineMatcher>>();

function cached(dir: RuleDir, key: string, build: () => LineMatcher): LineMatcher {
  let m = cache.get(dir);
  if (m === undefined) {
    m = new Map();
    cache.set(dir, m);
  }
  let matcher = m.get(key);
  if (matcher === undefined) {
    matcher = build();
    m.set(key, matcher);
  }
  return matcher;
}

/** Any rule of the directory. */
function wholeDir(dir: RuleDir): LineMatcher {
  return cached(dir, 'all', () => anyOf(dir.files));
}

/** The files of a raise directory that the generic `logcheck` file defers to. */
function specificFiles(dir: RuleDir): LineMatcher {
  // bash `[[ name =~ ^logcheck* ]]` is an ERE: "logchec" then any number of "k".
  return cached(dir, 'specific', () => anyOf(dir.files.filter((f) => !/^logchec/.test(f.name))));
}

/** `C/local` and every `C/local-*`. */
function localFiles(dir: RuleDir): LineMatcher {
  return cached(dir, 'local', () =>
    anyOf(dir.files.filter((f) => f.name === 'local' || f.name.startsWith('local-'))),
  );
}

function drop(lines: string[], matcher: LineMatcher | undefined): string[] {
  if (matcher === undefined || lines.length === 0) return lines;
  return lines.filter((line) => !matcher.test(line));
}

/** logcheck's greplogoutput: the sections one raise directory emits. */
function raise(
  /** The lines that match some raise rule (cracking.d or violations.d), in batch order. */
  batch: readonly string[],
  raiseDir: RuleDir,
  subject: string,
  cancel: RuleDir | null,
  higher: RuleDir | null,
): Section[] {
  const sections: Section[] = [];
  for (const file of raiseDir.files) {
    let lines = batch.filter((line) => file.test(line));
    if (lines.length === 0) continue;
    if (cancel !== null) {
      lines = drop(lines, cancel.get(file.name));
      lines = drop(lines, cancel.get(`logcheck-${file.name}`));
    }
    if (file.name === 'logcheck') {
      if (cancel !== null) lines = drop(lines, wholeDir(cancel));
      lines = drop(lines, specificFiles(raiseDir));
    }
    if (higher !== null) lines = drop(lines, wholeDir(higher));
    if (cancel !== null) lines = drop(lines, localFiles(cancel));
    if (lines.length > 0) sections.push({ heading: heading(subject, file), lines });
  }
  return sections;
}

function heading(subject: string, file: RuleFile): string {
  return file.name === 'logcheck' ? subject : `${subject} for ${file.name}`;
}

/**
 * The one-pass part of the classification, for a batch read line by line (logcheck/run keeps only
 * what it returns a place for, so memory follows the report, not the log): a line matching a
 * raise rule (cracking.d or violations.d) is a `candidate` for the alert and event sections; any
 * other is a System Event (`system`) unless an ignore rule of the level matches it (`drop`).
 * Filtering commutes with logcheck's stable sort, so sorting what is kept gives what sorting the
 * whole batch and then filtering gives.
 */
export class LinePartition {
  readonly #anyRaise: LineMatcher;
  readonly #ignore: LineMatcher;

  constructor(readonly tree: RuleTree) {
    this.#anyRaise = cached(tree.cracking, 'raise', () =>
      anyOf([...tree.cracking.files, ...tree.violations.files]),
    );
    this.#ignore = wholeDir(tree.ignore);
  }

  /** `ascii`: the line is known to be ASCII (else it is looked at). */
  placeOf(line: string, ascii: boolean = isAscii(line)): 'candidate' | 'system' | 'drop' {
    if (this.#anyRaise.test(line, ascii)) return 'candidate';
    return this.#ignore.test(line, ascii) ? 'drop' : 'system';
  }
}

/**
 * The sections from a partitioned batch: `candidates` and `system` each in batch order (sorted as
 * logcheck sorts, trailing whitespace stripped).
 */
export function classifyPartitioned(
  candidates: readonly string[],
  system: string[],
  tree: RuleTree,
  subjects: Subjects = {},
): Classification {
  const attackSubject = subjects.attack ?? 'Security Alerts';
  const securitySubject = subjects.security ?? 'Security Events';
  const eventsSubject = subjects.events ?? 'System Events';
  // With SUPPORT_CRACKING_IGNORE=1 and no cracking.ignore.d, logcheck skips the alert layer.
  const alerts = tree.alertsSkipped
    ? []
    : raise(candidates, tree.cracking, attackSubject, tree.crackingIgnore, null);
  const attack = alerts.length > 0;
  const events = raise(
    candidates,
    tree.violations,
    securitySubject,
    tree.violationsIgnore,
    attack ? tree.cracking : null,
  );
  return {
    alerts,
    events,
    system,
    systemHeading: eventsSubject,
    fired: { attack, security: events.length > 0, system: system.length > 0 },
  };
}

/**
 * Classifies a batch: `lines` already sorted as logcheck sorts (`sort -k 1,3 -s`, or `sort -u`)
 * and with trailing whitespace stripped, as logcheck's rules and report see them.
 */
export function classify(lines: readonly string[], tree: RuleTree, subjects: Subjects = {}): Classification {
  // One pass over the batch instead of logcheck's one per file: a line matching no raise rule
  // (cracking.d or violations.d) can be in no alert or event section, and is a System Event unless
  // an ignore rule matches it; the per-file steps then run on the few raise candidates only.
  const partition = new LinePartition(tree);
  const candidates: string[] = [];
  const system: string[] = [];
  for (const line of lines) {
    const place = partition.placeOf(line);
    if (place === 'candidate') candidates.push(line);
    else if (place === 'system') system.push(line);
  }
  return classifyPartitioned(candidates, system, tree, subjects);
}
