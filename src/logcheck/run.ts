/**
 * @module logcheck/run
 * `portsnare logcheck`, one run as logcheck 1.4.2 makes it: the conf (logcheck/conf) with the
 * command line over it, the log sources (logcheck/log-source: `-l`, or the logfile lists), the new
 * lines of each, the rule tree of the report level (logcheck/rules), the classification
 * (logcheck/classify) of the batch ordered as `sort -k 1,3 -s` orders it (logcheck/batch), the
 * report (logcheck/report), and either stdout (`-o`) or the mail (logcheck/mail). Offsets move only
 * after the report was printed or delivered, and never with `-t`; an error leaves them as they were.
 *
 * Streaming: the lines are read once, and a line is kept only if a raise rule matches it or no
 * ignore rule of the level does (what logcheck could report), so memory follows the report, not
 * the log. Filtering commutes with the stable sort, so the kept lines, sorted, are what sorting the
 * whole batch and then classifying it gives.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describeError } from '../errors.ts';
import { ExitCodes, type ExitCode } from '../exit-codes.ts';
import { compareBytes } from './batch.ts';
import { classifyPartitioned, LinePartition } from './classify.ts';
import { KeptLines } from './kept-lines.ts';
import { PLACE_CANDIDATE, PLACE_SYSTEM, type ChunkPlaces } from './line-places.ts';
import { PlacePool } from './place-pool.ts';
import { loadRuleTree, type RuleTree } from './rules.ts';
import { parseConf, readConf, reportLevels, type LogcheckSettings, type ReportLevel } from './conf.ts';
import {
  openJournalRead,
  openLogRead,
  readLogfileLists,
  type LineBatch,
  type LogSourceEntry,
} from './log-source.ts';
import { acquireLock, type HeldLock } from './lock.ts';
import { buildMessage, sendMail } from './mail.ts';
import {
  composeSubject,
  formatReport,
  readIntroFiles,
  reportFired,
  reportPieces,
  type LineBytes,
  type ReportInput,
  type ReportSection,
} from './report.ts';

/** Where the report (`-o`) and the messages go. */
export interface LogcheckIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

export interface LogcheckOptions {
  config?: string | undefined;
  debug?: boolean | undefined;
  hostname?: string | undefined;
  logfile?: string | undefined;
  'logfiles-list'?: string | undefined;
  'logfiles-dir'?: string | undefined;
  'mail-to'?: string | undefined;
  stdout?: boolean | undefined;
  paranoid?: boolean | undefined;
  'rules-dir'?: string | undefined;
  reboot?: boolean | undefined;
  server?: boolean | undefined;
  'state-dir'?: string | undefined;
  test?: boolean | undefined;
  summary?: boolean | undefined;
  workstation?: boolean | undefined;
  'allow-root'?: boolean | undefined;
}

const DEFAULT_CONF = '/etc/logcheck/logcheck.conf';

/** What the run needs, after the conf and the command line. */
interface Plan {
  settings: LogcheckSettings;
  level: ReportLevel;
  ruleDir: string;
  stateDir: string;
  recipients: string[];
  hostname: string;
  toStdout: boolean;
  test: boolean;
  reboot: boolean;
  summary: boolean;
}

class RunError extends Error {}

export async function runLogcheck(options: LogcheckOptions, io: LogcheckIo): Promise<ExitCode> {
  const say = (text: string) => io.err.write(`portsnare logcheck: ${text}\n`);
  if (process.getuid?.() === 0 && !options['allow-root']) {
    // logcheck's own refusal, with its remedy.
    io.out.write(
      'portsnare logcheck should not be run as root. Use su to invoke it:\n' +
        `su -s /bin/bash -c "portsnare logcheck${argsText()}" logcheck\n` +
        `Or use sudo: sudo -u logcheck portsnare logcheck${argsText()}.\n` +
        '(or pass --allow-root)\n',
    );
    return ExitCodes.FAILURE;
  }
  let plan: Plan;
  try {
    plan = makePlan(options);
  } catch (err) {
    say(err instanceof RunError ? err.message : describeError(err));
    return ExitCodes.FAILURE;
  }
  const debug = (text: string) => options.debug && say(text);
  let lock: HeldLock;
  try {
    lock = await acquireLock(plan.settings.lockDir, plan.settings.lockFile);
  } catch (err) {
    const message = describeError(err);
    say(message);
    await mailError(plan, message, say);
    return ExitCodes.FAILURE;
  }
  try {
    return await runPlan(plan, options, io, debug);
  } catch (err) {
    const message = err instanceof RunError ? err.message : describeError(err);
    say(message);
    await mailError(plan, message, say);
    return ExitCodes.FAILURE;
  } finally {
    await lock.release();
  }
}

/**
 * logcheck's error mail (not with -o): "Logcheck failed: Your log entries may not have been
 * checked." with the details, to SENDMAILTO. Unlike logcheck it carries no `export` dump of the
 * environment and no `df -h`: the first can hold secrets, the second is one command away.
 */
async function mailError(plan: Plan, message: string, say: (text: string) => void): Promise<void> {
  if (plan.toStdout || plan.recipients.length === 0) return;
  const body =
    'Logcheck failed: Your log entries may not have been checked.\n\n' +
    `Details:\n${message}\n\n` +
    'To identify the cause you may wish to:\n' +
    '- verify that the logcheck user can read all\nlogfiles specified in;\n' +
    `  ${plan.settings.logfilesList}\n  ${plan.settings.logfilesListD}/*.logfiles\n` +
    '- check the system has enough space (df -h)\n' +
    '- run portsnare logcheck -d -o -t to see what is read and decided\n';
  const subject = `Logcheck: ${plan.hostname} ${plan.settings.date} exiting due to errors`;
  try {
    const mail = buildMessage(Buffer.from(body, 'utf8'), {
      subject,
      to: plan.recipients,
      encoding: plan.settings.mimeEncoding,
    });
    await sendMail(mail, plan.recipients);
  } catch (err) {
    say(`the error mail could not be sent either: ${describeError(err)}`);
  }
}

function argsText(): string {
  const i = process.argv.indexOf('logcheck');
  const rest = i >= 0 ? process.argv.slice(i + 1) : [];
  return rest.length > 0 ? ` ${rest.join(' ')}` : '';
}

function makePlan(options: LogcheckOptions): Plan {
  const confPath = options.config ?? DEFAULT_CONF;
  if (options.config !== undefined && !existsSync(confPath)) {
    throw new RunError(`Config file could not be read: ${confPath}`);
  }
  const env = { env: { ...process.env, PWD: process.cwd() } };
  // No conf file at all: logcheck's built-in defaults.
  const parsed = existsSync(confPath) ? readConf(confPath, env) : parseConf('', confPath, env);
  if (parsed.errors.length > 0) {
    throw new RunError(
      parsed.errors.map((e) => `${e.file}:${e.line}: ${e.key ? `${e.key}: ` : ''}${e.message}`).join('\n'),
    );
  }
  const settings = parsed.settings;
  const levelText = options.paranoid
    ? 'paranoid'
    : options.server
      ? 'server'
      : options.workstation
        ? 'workstation'
        : settings.reportLevel;
  const levels = reportLevels(levelText);
  if (!levels) throw new RunError(`REPORTLEVEL: "${levelText}" is not workstation, server or paranoid`);
  const level = levelText as ReportLevel;
  return {
    settings,
    level,
    ruleDir: options['rules-dir'] ?? settings.ruleDir,
    stateDir: options['state-dir'] ?? settings.stateDir,
    recipients: (options['mail-to'] ?? settings.sendMailTo).split(/\s+/).filter(Boolean),
    hostname: options.hostname ?? hostName(settings.fqdn),
    toStdout: options.stdout === true,
    test: options.test === true,
    reboot: options.reboot === true,
    summary: options.summary === true || settings.syslogSummary,
  };
}

/** `hostname --fqdn` or `--short`, as logcheck asks (argument vector, no shell). */
function hostName(fqdn: boolean): string {
  try {
    return execFileSync('hostname', [fqdn ? '--fqdn' : '--short'], { encoding: 'utf8' }).trim();
  } catch {
    return 'localhost';
  }
}

async function runPlan(
  plan: Plan,
  options: LogcheckOptions,
  io: LogcheckIo,
  debug: (text: string) => void,
): Promise<ExitCode> {
  const { settings } = plan;
  const treeOptions = {
    ruleDir: plan.ruleDir,
    level: plan.level,
    supportCrackingIgnore: settings.supportCrackingIgnore,
  };
  const tree = loadRuleTree(treeOptions);
  const rules = new LinePartition(tree);
  const { sources, readErrors } = await listSources(plan, options);
  // Run files of kept lines go where logcheck puts its own (TMP), and are removed at the end.
  const keptOptions = { sortUniq: settings.sortUniq, tmpDir: settings.tmp || undefined };
  const kept: Kept = { candidate: new KeptLines(keptOptions), system: new KeptLines(keptOptions) };
  try {
    const pool = new PlacePool({ tree: treeOptions, sortUniq: settings.sortUniq, partition: rules });
    const read = await readInto(kept, sources, pool, plan.stateDir, io, debug);
    return await report(plan, tree, kept, read, readErrors, debug, io);
  } finally {
    kept.candidate.dispose();
    kept.system.dispose();
  }
}

/** The logs to read (-l, or the logfile lists), in the order logcheck sorts them, and the unreadable. */
async function listSources(
  plan: Plan,
  options: LogcheckOptions,
): Promise<{ sources: LogSourceEntry[]; readErrors: string[] }> {
  const { settings } = plan;
  let sources: LogSourceEntry[];
  let readErrors: string[] = [];
  if (options.logfile !== undefined) {
    if (!existsSync(options.logfile)) throw new RunError(`File could not be read: ${options.logfile}`);
    sources = [{ kind: 'file', path: options.logfile }];
  } else {
    const lists = await readLogfileLists(
      options['logfiles-list'] ?? settings.logfilesList,
      options['logfiles-dir'] ?? settings.logfilesListD,
    );
    sources = [...lists.sources];
    readErrors = [...lists.errors];
    if (sources.length === 0 && readErrors.length === 0) {
      sources = [{ kind: 'file', path: settings.logfileFallback }];
    }
  }
  // logcheck appends each log's new lines to logoutput/<basename> (the journal's to logoutput/journal)
  // and sorts `logoutput/*`: equal keys keep the glob order of those names, then list order.
  sources = sources
    .map((source, i) => ({ source, i, name: source.kind === 'journal' ? 'journal' : basename(source.path) }))
    .sort((a, b) => compareBytes(a.name, b.name) || a.i - b.i)
    .map((s) => s.source);
  return { sources, readErrors };
}

interface ReadResult {
  /** Offset writers, to call once the report was delivered. */
  commits: (() => Promise<void>)[];
  journalFirstRun: boolean;
}

/** Reads every source's new lines into `kept`, classified by `pool` (in workers once the run is long). */
async function readInto(
  kept: Kept,
  sources: readonly LogSourceEntry[],
  pool: PlacePool,
  stateDir: string,
  io: LogcheckIo,
  debug: (text: string) => void,
): Promise<ReadResult> {
  const progress = new Progress(io.err);
  const commits: (() => Promise<void>)[] = [];
  let journalFirstRun = false;
  let seq = 0;
  // Chunks are classified ahead (in workers, logcheck/place-pool) and kept in the order read.
  const feed = async (chunks: AsyncIterable<Buffer>, name: string) => {
    const ahead: Promise<Placed>[] = [];
    const settle = async () => {
      const placed = await ahead.shift()!;
      seq += placed.count;
      keepPlaced(placed, kept);
      progress.tick(name, seq);
    };
    for await (const chunk of chunks) {
      const placed = pool.place(chunk);
      // Awaited in order below; a failure meanwhile must not count as unhandled.
      placed.catch(() => undefined);
      ahead.push(placed);
      if (ahead.length >= AHEAD) await settle();
    }
    while (ahead.length > 0) await settle();
  };
  try {
    for (const source of sources) {
      if (source.kind === 'journal') {
        const read = await openJournalRead({ stateDir });
        if (read.preamble.length > 0) journalFirstRun = true;
        await feed(journalChunks(read.batches), 'journal');
        commits.push(() => read.commit());
        continue;
      }
      const read = await openLogRead(source.path, { stateDir });
      for (const note of read.notes) debug(note);
      try {
        await feed(read.chunks, source.path);
      } finally {
        await read.close();
      }
      commits.push(() => read.commit());
    }
  } finally {
    await pool.close();
  }
  progress.done();
  debug(
    `${seq} new line(s); ${kept.candidate.length} match a raise rule, ${kept.system.length} no ignore rule; ` +
      `classified with ${pool.started} worker thread(s)`,
  );
  return { commits, journalFirstRun };
}

/** The report of the kept lines, printed (-o) or mailed; then the offsets move (not with -t). */
async function report(
  plan: Plan,
  tree: RuleTree,
  kept: Kept,
  read: ReadResult,
  readErrors: readonly string[],
  debug: (text: string) => void,
  io: LogcheckIo,
): Promise<ExitCode> {
  const { settings } = plan;
  const candidates = kept.candidate.sorted().strings();
  const system = kept.system.sorted();
  debug(`kept lines sorted through ${kept.system.runs + kept.candidate.runs} run file(s)`);
  const classified = classifyPartitioned(candidates, [], tree, {
    attack: settings.attackSubject,
    security: settings.securitySubject,
    events: settings.eventsSubject,
  });
  const sections = { alerts: classified.alerts, events: classified.events, system };
  const intro = await readIntroFiles(plan.ruleDir);
  const summarised = plan.summary ? summarise(sections, settings.syslogSummaryProgram, debug) : sections;
  const reportOptions = {
    intro: settings.intro,
    header: intro.header,
    footer: intro.footer,
    eventsSubject: settings.eventsSubject,
    readErrors,
    journalFirstRun: read.journalFirstRun,
  };
  const fired = reportFired(summarised);
  if (fired !== null && plan.toStdout) {
    // Written piece by piece as the pipe takes it, and awaited: the CLI exits soon after the
    // command returns, while a large report would still be in the pipe.
    for (const piece of reportPieces(summarised, reportOptions)) {
      if (!io.out.write(piece)) await new Promise<void>((resolve) => io.out.once('drain', resolve));
    }
    await new Promise<void>((resolve, reject) => io.out.write('', (err) => (err ? reject(err) : resolve())));
  } else if (fired !== null) {
    const report = formatReport(summarised, reportOptions)!;
    const subject = composeSubject(report.fired, {
      addTag: settings.addTag,
      reboot: plan.reboot,
      hostname: plan.hostname,
      date: settings.date,
      attackSubject: settings.attackSubject,
      securitySubject: settings.securitySubject,
      eventsSubject: settings.eventsSubject,
    });
    const message = buildMessage(report.body, {
      subject,
      to: plan.recipients,
      encoding: settings.mimeEncoding,
      attach: settings.mailAsAttach,
    });
    // A failed delivery throws before any offset moves: the next run reports the same lines.
    await sendMail(message, plan.recipients);
  }
  if (!plan.test) for (const commit of read.commits) await commit();
  return ExitCodes.OK;
}

/**
 * SYSLOGSUMMARY: each section's lines go through SYSLOG_SUMMARY (given a file of them, as
 * logcheck does), and its output, less lines starting `Summarizing `, stands for them. A program
 * that is not executable is skipped, as logcheck skips it (a debug line only).
 */
function summarise<T extends ReportInput>(sections: T, program: string, debug: (text: string) => void): T {
  try {
    accessSync(program, constants.X_OK);
  } catch {
    debug(`WARNING: can't exec ${program}. Running without syslog-summary`);
    return sections;
  }
  const dir = mkdtempSync(join(tmpdir(), 'portsnare-logcheck-'));
  try {
    const run = (lines: readonly string[]): string[] => {
      if (lines.length === 0) return [];
      const file = join(dir, 'checked');
      writeFileSync(file, lines.map((l) => `${l}\n`).join(''), { mode: 0o600 });
      const out = execFileSync(program, [file], { encoding: 'utf8', maxBuffer: 1 << 30 });
      const result = out.split('\n').filter((l) => !l.startsWith('Summarizing '));
      if (result.at(-1) === '') result.pop();
      return result;
    };
    const section = (s: ReportSection): ReportSection => ({ heading: s.heading, lines: run(s.lines) });
    return {
      ...sections,
      alerts: sections.alerts.map(section),
      events: sections.events.map(section),
      system: run(
        Array.isArray(sections.system) ? sections.system : (sections.system as LineBytes).strings(),
      ),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A long run says how far it got, on stderr when that is a terminal (after 2 s, once a second). */
class Progress {
  readonly #tty: boolean;
  readonly #start = performance.now();
  #last = 0;
  #shown = false;

  constructor(readonly stream: NodeJS.WritableStream) {
    this.#tty = (stream as { isTTY?: boolean }).isTTY === true;
  }

  tick(source: string, lines: number): void {
    if (!this.#tty) return;
    const now = performance.now();
    if (now - this.#start < 2000 || now - this.#last < 1000) return;
    this.#last = now;
    this.#shown = true;
    this.stream.write(`\rportsnare logcheck: ${source}: ${lines} lines read`);
  }

  done(): void {
    if (this.#shown) this.stream.write('\r\x1b[K');
  }
}

type Kept = Record<'candidate' | 'system', KeptLines>;
type Placed = ChunkPlaces & { chunk: Uint8Array };

/** Chunks classified ahead of the one being kept (bounded: 8 x 256 KiB). */
const AHEAD = 8;

/** Keeps the lines of a classified chunk where logcheck could report them (logcheck/classify LinePartition). */
function keepPlaced(placed: Placed, kept: Kept): void {
  let start = 0;
  for (let i = 0; i < placed.count; i++) {
    const place = placed.places[i];
    if (place === PLACE_SYSTEM) kept.system.add(placed.chunk, start, placed, i);
    else if (place === PLACE_CANDIDATE) kept.candidate.add(placed.chunk, start, placed, i);
    start = placed.ends[i * 3]! + 1;
  }
}

/** The journal's lines as chunks of whole lines. */
async function* journalChunks(batches: AsyncIterable<LineBatch>): AsyncGenerator<Buffer> {
  for await (const batch of batches) yield Buffer.from(`${batch.lines.join('\n')}\n`);
}
