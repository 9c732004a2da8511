/**
 * @module logcheck/conf
 * Reads a logcheck.conf the way logcheck 1.4.2 uses it: the file is sourced by bash, so this is a
 * small reader for the subset of bash such files are written in (assignments, `export`, comments,
 * `;`, line continuations, '...', "...", $'...', $VAR / ${VAR} expansion of earlier assignments and
 * of the environment, `~` at the start of a value) and `$(date ...)` / backticks running `date`
 * only. Anything else (other commands, control flow, arrays, arithmetic, other substitutions) is
 * reported as a diagnostic naming file, line and variable, never run: the file is data to us, not
 * a script. The typed settings overlay logcheck's built-in defaults (the values the script sets
 * before sourcing) with the file, and interpret each value as the script later tests it (`-eq 1`,
 * `= "yes"`, INTRO's 0/1/yes/no).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export type ReportLevel = 'workstation' | 'server' | 'paranoid';

/** One thing in a conf file that cannot be read (error) or that logcheck would misread (warning). */
export interface ConfDiagnostic {
  file: string;
  /** 1-based line where the statement (or the construct) starts. */
  line: number;
  /** The variable being assigned, or '' when the statement is not an assignment. */
  key: string;
  message: string;
}

/** What logcheck's script works with after sourcing the conf (before its second option pass). */
export interface LogcheckSettings {
  /** Raw REPORTLEVEL; `reportLevels()` says which ignore.d sets it means (or that it is invalid). */
  reportLevel: string;
  sendMailTo: string;
  /** MAILASATTACH: 0 inline, 1 text attachment, 2 gzip attachment. */
  mailAsAttach: 0 | 1 | 2;
  /** FQDN=1: `hostname --fqdn` rather than `--short` in the subject. */
  fqdn: boolean;
  /** DATE: the subject's time stamp, already evaluated. */
  date: string;
  /** INTRO: header.txt / footer.txt around the report. */
  intro: boolean;
  sortUniq: boolean;
  supportCrackingIgnore: boolean;
  ruleDir: string;
  /** SYSLOGSUMMARY=1 (or -u): run the summariser over each section. */
  syslogSummary: boolean;
  /** SYSLOG_SUMMARY: the summariser program. */
  syslogSummaryProgram: string;
  attackSubject: string;
  securitySubject: string;
  eventsSubject: string;
  /** ADDTAG=yes (exactly): `[logcheck] ` subject prefix. */
  addTag: boolean;
  /** MIMEENCODING: '' lets mime-construct choose. */
  mimeEncoding: string;
  tmp: string;
  logtail: string;
  logtailOpts: string;
  stateDir: string;
  logfilesList: string;
  logfilesListD: string;
  logfileFallback: string;
  /** LOGFILE (normally only set by -l): when non-empty the lists are ignored. */
  logfile: string;
  lockDir: string;
  lockFile: string;
  debug: boolean;
  noCleanup: boolean;
  mailOut: boolean;
  reboot: boolean;
}

export interface ParseConfOptions {
  /** Environment the file sees ($HOME, $PWD...); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Runs `date` with these arguments (no shell) and returns its stdout. Default: /bin/date. Tests
   * pass a fake, or `now` to pin the clock of the real one.
   */
  date?: (args: readonly string[]) => string;
  /** Evaluate date commands at this instant (`date -d @SECONDS ...`) instead of the clock. */
  now?: Date;
}

export interface ParsedConf {
  settings: LogcheckSettings;
  /** Every variable after sourcing (defaults and file), as bash would hold them. */
  vars: Map<string, string>;
  /** Variables the file marked with `export`. */
  exported: Set<string>;
  /** Constructs that could not be read; the statements they are in were not applied. */
  errors: ConfDiagnostic[];
  /** Values logcheck would misread (e.g. FQDN=yes: `[ yes -eq 1 ]` fails, so it acts as 0). */
  warnings: ConfDiagnostic[];
}

/** The variables logcheck sets before it sources the conf (DATE is evaluated lazily). */
export const LOGCHECK_DEFAULTS: Readonly<Record<string, string>> = {
  REPORTLEVEL: 'server',
  SENDMAILTO: 'root',
  ATTACKSUBJECT: 'Security Alerts',
  SECURITYSUBJECT: 'Security Events',
  EVENTSSUBJECT: 'System Events',
  ADDTAG: 'no',
  RULEDIR: '/etc/logcheck',
  CONFFILE: '/etc/logcheck/logcheck.conf',
  STATEDIR: '/var/lib/logcheck',
  LOGFILES_LIST: '/etc/logcheck/logcheck.logfiles',
  LOGFILES_LIST_D: '/etc/logcheck/logcheck.logfiles.d',
  LOGFILE_FALLBACK: '/var/log/syslog',
  LOGTAIL: '/usr/sbin/logtail2',
  SYSLOG_SUMMARY: '/usr/bin/syslog-summary',
  INTRO: '1',
  LOGCHECKDEBUG: '0',
  MAILOUT: '0',
  MAILASATTACH: '0',
  MIMEENCODING: '',
  NOCLEANUP: '0',
  REBOOT: '0',
  FQDN: '0',
  SORTUNIQ: '0',
  SUPPORT_CRACKING_IGNORE: '0',
  SYSLOGSUMMARY: '0',
  LOCKDIR: '/run/lock/logcheck',
  LOCKFILE: '/run/lock/logcheck/logcheck',
  VERSION: '1.4.2+deb12u1',
  SYSTEM: '0',
  SECURITY: '0',
  ATTACK: '0',
  GETOPTS: 'c:dhH:l:L:D:m:opr:RsS:tTuvw',
};

/** logcheck's own DATE: `date +'%Y-%m-%d %H:%M %z'`. */
export const DEFAULT_DATE_ARGS: readonly string[] = ['+%Y-%m-%d %H:%M %z'];

/** The ignore.d levels a REPORTLEVEL applies (levels are additive), or null if logcheck rejects it. */
export function reportLevels(level: string): ReportLevel[] | null {
  if (level === 'workstation') return ['workstation', 'server', 'paranoid'];
  if (level === 'server') return ['server', 'paranoid'];
  if (level === 'paranoid') return ['paranoid'];
  return null;
}

/** Reads and parses a conf file; a file that cannot be read throws (the caller decides). */
export function readConf(path: string, options: ParseConfOptions = {}): ParsedConf {
  return parseConf(readFileSync(path, 'utf8'), path, options);
}

/** A statement-level failure: the rest of the statement is skipped. */
class ConfSyntax extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/;
const DATE_PROGRAMS = new Set(['date', '/bin/date', '/usr/bin/date']);
// `date` arguments that only choose what is printed. -s/--set would set the clock and -f/--file
// reads files: refused, as is anything not listed here.
const DATE_FLAGS = new Set(['-u', '--utc', '--universal', '-R', '--rfc-email', '-I', '--iso-8601']);

/** Runs /bin/date with an argument vector (never a shell). */
function runDate(args: readonly string[]): string {
  return execFileSync('/bin/date', [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Parses conf text. Never throws on content: every statement that cannot be read is skipped and
 * reported in `errors`, the others are applied in order, as bash would (bash also carries on after
 * a failing line).
 */
export function parseConf(text: string, file: string, options: ParseConfOptions = {}): ParsedConf {
  const env = options.env ?? process.env;
  const dateFn = options.date ?? runDate;
  const vars = new Map<string, string>(Object.entries(LOGCHECK_DEFAULTS));
  const exported = new Set<string>();
  const errors: ConfDiagnostic[] = [];
  const warnings: ConfDiagnostic[] = [];
  let dateSet = false;

  const callDate = (args: string[]): string => {
    const pinned = options.now !== undefined && !args.some((a) => a === '-d' || a.startsWith('--date'));
    const full = pinned ? ['-d', `@${Math.floor(options.now!.getTime() / 1000)}`, ...args] : args;
    // Command substitution drops every trailing newline.
    return dateFn(full).replace(/\n+$/, '');
  };
  const lookup = (name: string): string => {
    const v = vars.get(name);
    if (v !== undefined) return v;
    if (name === 'DATE') return defaultDate();
    const e = env[name];
    if (e !== undefined) return e;
    // Variables bash itself sets when it runs logcheck.
    if (name === 'HOSTNAME') return hostname();
    if (name === 'PWD') return process.cwd();
    return '';
  };
  let cachedDate: string | undefined;
  const defaultDate = (): string => (cachedDate ??= callDate([...DEFAULT_DATE_ARGS]));

  const sc = new Scanner(text, lookup, callDate);
  while (!sc.eof()) {
    const start = sc.line;
    let key = '';
    // Assignments of a statement take effect one after the other (`I=1 J=$I`), but a statement
    // that turns out unreadable (`A=1 some-command`) is undone as a whole: bash would not have
    // kept A either, and a half-applied line is worse than a reported one.
    const undo: [string, string | undefined][] = [];
    const undoExport: string[] = [];
    const dateSetBefore: boolean = dateSet;
    try {
      sc.statement(
        (name, value, append) => {
          key = name;
          undo.push([name, vars.get(name)]);
          if (name === 'DATE') dateSet = true;
          vars.set(name, append ? lookup(name) + value : value);
        },
        (name) => {
          key = name;
          if (!exported.has(name)) undoExport.push(name);
          exported.add(name);
        },
        (name) => {
          key = name;
        },
      );
    } catch (err) {
      if (!(err instanceof ConfSyntax)) throw err;
      for (const [name, old] of undo.reverse()) {
        if (old === undefined) vars.delete(name);
        else vars.set(name, old);
      }
      for (const name of undoExport) exported.delete(name);
      dateSet = dateSetBefore;
      errors.push({ file, line: err.line || start, key, message: err.message });
      sc.skipLine();
    }
  }
  if (!dateSet) vars.set('DATE', defaultDate());

  const settings = interpret(vars, file, warnings);
  return { settings, vars, exported, errors, warnings };
}

/** Turns the variables into typed settings, testing each as logcheck's script does. */
function interpret(vars: Map<string, string>, file: string, warnings: ConfDiagnostic[]): LogcheckSettings {
  const get = (k: string): string => vars.get(k) ?? '';
  // `[ "$X" -eq N ]`: bash compares integers; a non-integer makes the test fail (and print an
  // error), so the flag acts as off.
  const int = (k: string): number | null => {
    const v = get(k);
    if (/^\s*[+-]?\d+\s*$/.test(v)) return Number.parseInt(v.trim(), 10);
    warnings.push({
      file,
      line: 0,
      key: k,
      message: `${k}=${JSON.stringify(v)} is not an integer; logcheck treats it as 0`,
    });
    return null;
  };
  const flag = (k: string): boolean => int(k) === 1;
  let intro: boolean;
  const introRaw = get('INTRO');
  if (introRaw === '' || introRaw === 'yes') intro = true;
  else if (introRaw === 'no') intro = false;
  else intro = flag('INTRO');
  const attach = int('MAILASATTACH');
  const level = get('REPORTLEVEL');
  if (reportLevels(level) === null) {
    warnings.push({
      file,
      line: 0,
      key: 'REPORTLEVEL',
      message: `REPORTLEVEL=${JSON.stringify(level)} is not workstation, server or paranoid; logcheck stops with an error unless -p, -s or -w is given`,
    });
  }
  return {
    reportLevel: level,
    sendMailTo: get('SENDMAILTO'),
    mailAsAttach: attach === 1 ? 1 : attach === 2 ? 2 : 0,
    fqdn: flag('FQDN'),
    date: get('DATE'),
    intro,
    sortUniq: flag('SORTUNIQ'),
    supportCrackingIgnore: flag('SUPPORT_CRACKING_IGNORE'),
    ruleDir: get('RULEDIR'),
    syslogSummary: flag('SYSLOGSUMMARY'),
    syslogSummaryProgram: get('SYSLOG_SUMMARY'),
    attackSubject: get('ATTACKSUBJECT'),
    securitySubject: get('SECURITYSUBJECT'),
    eventsSubject: get('EVENTSSUBJECT'),
    addTag: get('ADDTAG') === 'yes',
    mimeEncoding: get('MIMEENCODING'),
    tmp: get('TMP'),
    logtail: get('LOGTAIL'),
    logtailOpts: get('LOGTAIL_OPTS'),
    stateDir: get('STATEDIR'),
    logfilesList: get('LOGFILES_LIST'),
    logfilesListD: get('LOGFILES_LIST_D'),
    logfileFallback: get('LOGFILE_FALLBACK'),
    logfile: get('LOGFILE'),
    lockDir: get('LOCKDIR'),
    lockFile: get('LOCKFILE'),
    debug: flag('LOGCHECKDEBUG'),
    noCleanup: flag('NOCLEANUP'),
    mailOut: flag('MAILOUT'),
    reboot: flag('REBOOT'),
  };
}

// Characters that end an unquoted word; of these only blanks, newline and ';' are read.
const WORD_END = new Set([' ', '\t', '\n', ';', '&', '|', '<', '>', '(', ')']);

/** A cursor over the conf text with bash's quoting rules. */
class Scanner {
  pos = 0;
  line = 1;

  constructor(
    private readonly src: string,
    private readonly lookup: (name: string) => string,
    private readonly callDate: (args: string[]) => string,
  ) {}

  eof(): boolean {
    return this.pos >= this.src.length;
  }

  /** `re` (written without ^) matched at the cursor, without copying the rest of the text. */
  private matchHere(re: RegExp): RegExpExecArray | null {
    const sticky = new RegExp(re.source, 'y');
    sticky.lastIndex = this.pos;
    return sticky.exec(this.src);
  }

  private peek(offset = 0): string {
    return this.src[this.pos + offset] ?? '';
  }

  private next(): string {
    const c = this.src[this.pos++] ?? '';
    if (c === '\n') this.line++;
    return c;
  }

  /** Skips to after the next newline (error recovery). */
  skipLine(): void {
    while (!this.eof() && this.next() !== '\n');
  }

  /** Blanks and line continuations. */
  private skipBlanks(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t') this.next();
      else if (c === '\\' && this.peek(1) === '\n') {
        this.next();
        this.next();
      } else return;
    }
  }

  /** One statement up to newline, ';' or end of file. */
  statement(
    assign: (name: string, value: string, append: boolean) => void,
    exportName: (name: string) => void,
    naming: (name: string) => void,
  ): void {
    this.skipBlanks();
    const c = this.peek();
    if (c === '') return;
    if (c === '#') {
      while (!this.eof() && this.peek() !== '\n') this.next();
      return;
    }
    if (c === '\n' || c === ';') {
      this.next();
      return;
    }
    let isExport = false;
    const exp = this.matchHere(/export(?=[ \t])/);
    if (exp) {
      isExport = true;
      this.pos += 6;
      this.skipBlanks();
      if (this.peek() === '-') throw new ConfSyntax('export options are not supported', this.line);
    }
    let any = false;
    for (;;) {
      this.skipBlanks();
      const d = this.peek();
      if (d === '' || d === '\n' || d === ';' || (d === '#' && any)) break;
      const m = this.matchHere(/([A-Za-z_][A-Za-z0-9_]*)(\+?=)?/);
      const name = m?.[1];
      const op = m?.[2];
      if (name === undefined || (op === undefined && !isExport)) {
        const word = this.matchHere(/[^\s;]*/)?.[0] ?? '';
        throw new ConfSyntax(
          `not an assignment: ${JSON.stringify(word)} (only VAR=value and export VAR=value are read; commands and control flow are not run)`,
          this.line,
        );
      }
      naming(name);
      this.pos += m![0].length;
      if (op === undefined) {
        // `export NAME` (no value): only marks it.
        if (!WORD_END.has(this.peek()) && this.peek() !== '') {
          throw new ConfSyntax(`invalid name after export`, this.line);
        }
        exportName(name);
        any = true;
        continue;
      }
      if (this.peek() === '(') throw new ConfSyntax(`${name}: arrays are not supported`, this.line);
      const value = this.word(true);
      assign(name, value, op === '+=');
      if (isExport) exportName(name);
      any = true;
    }
    const d = this.peek();
    if (d === ';' || d === '\n') this.next();
    else if (d === '#') {
      while (!this.eof() && this.peek() !== '\n') this.next();
    }
  }

  /**
   * One word, expanded. `assignment`: tilde expansion at the start and after ':' as bash does in
   * assignment values. Stops before an unquoted blank, newline, ';' or ')'.
   */
  word(assignment: boolean): string {
    let out = '';
    let atTildePoint = true;
    for (;;) {
      const c = this.peek();
      if (c === '' || c === ' ' || c === '\t' || c === '\n' || c === ';' || c === ')') return out;
      if (c === '&' || c === '|' || c === '<' || c === '>' || c === '(') {
        throw new ConfSyntax(
          `unsupported shell syntax ${JSON.stringify(c)} (pipes, redirections, subshells, background jobs)`,
          this.line,
        );
      }
      if (atTildePoint && c === '~' && assignment) {
        const m = this.matchHere(/~(?=[/:\s;)]|$)/);
        if (!m) throw new ConfSyntax('tilde expansion other than ~ alone is not supported', this.line);
        this.next();
        out += this.lookup('HOME');
        atTildePoint = false;
        continue;
      }
      atTildePoint = false;
      if (c === '\\') {
        this.next();
        const e = this.peek();
        if (e === '\n') {
          this.next();
        } else if (e === '') {
          out += '\\';
        } else {
          out += this.next();
        }
      } else if (c === "'") {
        const line = this.line;
        this.next();
        const end = this.src.indexOf("'", this.pos);
        if (end < 0) throw new ConfSyntax('unterminated single quote', line);
        const start = this.pos;
        while (this.pos < end) this.next();
        this.next();
        out += this.src.slice(start, end);
      } else if (c === '"') {
        this.next();
        out += this.doubleQuoted();
      } else if (c === '$') {
        out += this.dollar(false);
      } else if (c === '`') {
        out += this.backtick();
      } else {
        this.next();
        out += c;
        if (c === ':' && assignment) atTildePoint = true;
      }
    }
  }

  /** The inside of "...", after the opening quote, through the closing one. */
  private doubleQuoted(): string {
    const line = this.line;
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === '') throw new ConfSyntax('unterminated double quote', line);
      if (c === '"') {
        this.next();
        return out;
      }
      if (c === '\\') {
        const e = this.peek(1);
        if (e === '\n') {
          this.next();
          this.next();
        } else if (e === '$' || e === '`' || e === '"' || e === '\\') {
          this.next();
          out += this.next();
        } else {
          // Inside double quotes any other backslash is literal.
          out += this.next();
        }
      } else if (c === '$') {
        out += this.dollar(true);
      } else if (c === '`') {
        out += this.backtick();
      } else {
        out += this.next();
      }
    }
  }

  /** `$...` at the cursor. */
  private dollar(inDouble: boolean): string {
    const line = this.line;
    this.next();
    const c = this.peek();
    if (c === '{') {
      const close = this.src.indexOf('}', this.pos);
      const inner = close < 0 ? '' : this.src.slice(this.pos + 1, close);
      if (close < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(inner)) {
        throw new ConfSyntax(
          `unsupported parameter expansion \${${close < 0 ? '' : inner}} (only \${NAME} is read)`,
          line,
        );
      }
      while (this.pos <= close) this.next();
      return this.lookup(inner);
    }
    if (c === '(') {
      if (this.peek(1) === '(') throw new ConfSyntax('arithmetic expansion $((...)) is not supported', line);
      this.next();
      const words = this.commandWords();
      if (this.peek() !== ')') throw new ConfSyntax('unterminated $(', line);
      this.next();
      return this.substitute(words, line);
    }
    if (c === "'" && !inDouble) {
      this.next();
      return this.ansiC(line);
    }
    if (c === '"' && !inDouble) {
      // $"..." (locale translation) is "..." when no message catalogue is installed.
      this.next();
      return this.doubleQuoted();
    }
    const m = this.matchHere(NAME);
    if (m) {
      for (let i = 0; i < m[0].length; i++) this.next();
      return this.lookup(m[0]);
    }
    if (/^[0-9@*#?$!-]$/.test(c)) throw new ConfSyntax(`special parameter $${c} is not supported`, line);
    return '$';
  }

  /** Words of a command inside $( ... ), up to (not including) the closing parenthesis. */
  private commandWords(): string[] {
    const words: string[] = [];
    for (;;) {
      this.skipBlanks();
      const c = this.peek();
      if (c === '' || c === ')') return words;
      if (c === '\n' || c === ';')
        throw new ConfSyntax('only a single date command is read inside $(...)', this.line);
      words.push(this.word(false));
    }
  }

  /** `...` at the cursor: the inner text loses the backslashes before $ ` \, then is parsed. */
  private backtick(): string {
    const line = this.line;
    this.next();
    let inner = '';
    for (;;) {
      const c = this.peek();
      if (c === '') throw new ConfSyntax('unterminated backquote', line);
      this.next();
      if (c === '`') break;
      if (c === '\\' && (this.peek() === '$' || this.peek() === '`' || this.peek() === '\\')) {
        inner += this.next();
      } else inner += c;
    }
    const sub = new Scanner(inner, this.lookup, this.callDate);
    sub.line = line;
    const words = sub.commandWords();
    if (!sub.eof()) throw new ConfSyntax('unsupported syntax inside backquotes', line);
    return this.substitute(words, line);
  }

  /** Runs a command substitution: `date` with harmless arguments only. */
  private substitute(words: string[], line: number): string {
    const [prog, ...args] = words;
    if (prog === undefined || !DATE_PROGRAMS.has(prog)) {
      throw new ConfSyntax(
        `command substitution runs ${JSON.stringify(prog ?? '')}; only date is supported`,
        line,
      );
    }
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (
        a.startsWith('+') ||
        DATE_FLAGS.has(a) ||
        /^(-I|--iso-8601=)(date|hours|minutes|seconds|ns)$/.test(a)
      )
        continue;
      if (/^--rfc-3339=(date|seconds|ns)$/.test(a) || a.startsWith('--date=')) continue;
      if ((a === '-d' || a === '--date') && i + 1 < args.length) {
        i++;
        continue;
      }
      throw new ConfSyntax(`date argument ${JSON.stringify(a)} is not supported`, line);
    }
    try {
      return this.callDate(args);
    } catch (err) {
      throw new ConfSyntax(
        `date ${args.join(' ')} failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
        line,
      );
    }
  }

  /** $'...' after the opening quote. */
  private ansiC(line: number): string {
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === '') throw new ConfSyntax("unterminated $'", line);
      this.next();
      if (c === "'") return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.next();
      const simple: Record<string, string> = {
        n: '\n',
        t: '\t',
        r: '\r',
        a: '\x07',
        b: '\b',
        e: '\x1b',
        E: '\x1b',
        f: '\f',
        v: '\v',
        '\\': '\\',
        "'": "'",
        '"': '"',
        '?': '?',
      };
      const s = simple[e];
      if (s !== undefined) out += s;
      else if (/[0-7]/.test(e)) {
        let oct = e;
        while (oct.length < 3 && /[0-7]/.test(this.peek())) oct += this.next();
        out += String.fromCharCode(Number.parseInt(oct, 8) & 0xff);
      } else if (e === 'x' && /[0-9A-Fa-f]/.test(this.peek())) {
        let hex = '';
        while (hex.length < 2 && /[0-9A-Fa-f]/.test(this.peek())) hex += this.next();
        out += String.fromCharCode(Number.parseInt(hex, 16));
      } else out += '\\' + e;
    }
  }
}
