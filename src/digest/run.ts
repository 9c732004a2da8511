/**
 * @module digest/run
 * `portsnare report`, one run: the settings (portsentry.conf's REPORT_* keys), logcheck's conf for
 * the logfile lists, rule directory and level, the new lines of every source from the digest's own
 * offsets (REPORT_STATE_DIR, beside logcheck's, so both can run), or whole files (`--log`), or a
 * time range (`--since`), one pass through digest/build, the view (caps, "still happening"), and
 * either stdout or a mail. Offsets and the previous listing move only after the digest was printed
 * or delivered, never with `--test`; a delivery error leaves both as they were.
 */
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { formatDiagnostic, hasErrors } from '../config/diagnostic.ts';
import { loadSettingsFile } from '../config/load-settings.ts';
import { parseMailAddresses } from '../config/report-keys.ts';
import type { Settings } from '../config/settings.ts';
import { describeError } from '../errors.ts';
import { ExitCodes, type ExitCode } from '../exit-codes.ts';
import { parseConf, readConf, reportLevels, type LogcheckSettings } from '../logcheck/conf.ts';
import { loadRuleTree } from '../logcheck/rules.ts';
import { DigestBuilder } from './build.ts';
import { composeDigestMail, transportOf } from './mail.ts';
import { readPrevious, writePrevious } from './previous.ts';
import { renderHtml } from './render-html.ts';
import { renderJson } from './render-json.ts';
import { renderText } from './render-text.ts';
import { parseSince } from './since.ts';
import { listReportSources, readSources } from './sources.ts';
import { listingOf, makeView, viewIsEmpty } from './view.ts';
import { deliverMail } from '../mail/deliver.ts';

export interface ReportIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

export interface ReportOptions {
  config?: string | undefined;
  log?: string[] | undefined;
  since?: string | undefined;
  format?: string | undefined;
  stdout?: boolean | undefined;
  'mail-to'?: string[] | undefined;
  test?: boolean | undefined;
}

class RunError extends Error {}

export async function runReport(options: ReportOptions, io: ReportIo): Promise<ExitCode> {
  const say = (text: string) => io.err.write(`portsnare report: ${text}\n`);
  const loaded = await loadSettingsFile(options.config);
  for (const d of loaded.diagnostics) if (d.severity === 'error') io.err.write(`${formatDiagnostic(d)}\n`);
  if (hasErrors(loaded.diagnostics)) return ExitCodes.CONFIG;
  try {
    return await report(loaded.settings, options, io, say);
  } catch (err) {
    say(err instanceof RunError ? err.message : describeError(err));
    return ExitCodes.FAILURE;
  }
}

function logcheckSettings(path: string): LogcheckSettings {
  const env = { env: { ...process.env, PWD: process.cwd() } };
  const parsed = existsSync(path) ? readConf(path, env) : parseConf('', path, env);
  if (parsed.errors.length > 0) {
    throw new RunError(
      parsed.errors.map((e) => `${e.file}:${e.line}: ${e.key ? `${e.key}: ` : ''}${e.message}`).join('\n'),
    );
  }
  return parsed.settings;
}

async function report(
  settings: Settings,
  options: ReportOptions,
  io: ReportIo,
  say: (text: string) => void,
): Promise<ExitCode> {
  const format = options.format ?? settings.reportFormat;
  if (format !== 'text' && format !== 'html' && format !== 'json') {
    throw new RunError(`--format: "${format}" is not text, html or json`);
  }
  let recipients = settings.reportMailTo;
  if (options['mail-to'] !== undefined) {
    const parsed = parseMailAddresses(options['mail-to'].join(' '));
    if ('error' in parsed) throw new RunError(`--mail-to: ${parsed.error}`);
    recipients = parsed.addresses;
  }
  const now = new Date();
  const since = options.since === undefined ? null : parseSince(options.since, now);
  if (since !== null && 'error' in since) throw new RunError(`--since: ${since.error}`);
  const lc = logcheckSettings(settings.reportLogcheckConf);
  const level = lc.reportLevel;
  if (!reportLevels(level))
    throw new RunError(`REPORTLEVEL: "${level}" is not workstation, server or paranoid`);
  const tree = loadRuleTree({
    ruleDir: lc.ruleDir,
    level: level as 'workstation' | 'server' | 'paranoid',
    supportCrackingIgnore: lc.supportCrackingIgnore,
  });
  const useOffsets = options.log === undefined && since === null;
  if (useOffsets) await mkdir(settings.reportStateDir, { recursive: true, mode: 0o700 });
  const sources = await listReportSources(options.log, lc);
  for (const e of sources.errors) say(e);
  const builder = new DigestBuilder({
    tree,
    subjects: { attack: lc.attackSubject, security: lc.securitySubject, events: lc.eventsSubject },
    now,
    keepRaw: settings.reportAttachRaw && options.stdout !== true,
    ...(since !== null ? { since: since.time } : {}),
  });
  const read = await readSources(sources.sources, {
    stateDir: useOffsets ? settings.reportStateDir : null,
    since: since === null ? null : since.time,
    onLine: (line) => builder.add(line),
    note: say,
  });
  const data = builder.finish();
  const previous = useOffsets ? await readPrevious(settings.reportStateDir) : null;
  const host = hostname();
  const view = makeView(data, {
    host,
    now: now.getTime(),
    maxAttackers: settings.reportMaxAttackers,
    maxTemplates: settings.reportMaxTemplates,
    maxBytes: settings.reportMaxBytes,
    previous,
  });
  if (!viewIsEmpty(view)) {
    if (options.stdout === true) {
      const body =
        format === 'json' ? renderJson(view) : format === 'html' ? renderHtml(view) : renderText(view);
      await new Promise<void>((resolve, reject) => io.out.write(body, (e) => (e ? reject(e) : resolve())));
    } else {
      if (recipients.length === 0) throw new RunError('no recipient: set REPORT_MAIL_TO or give --mail-to');
      const mail = composeDigestMail(view, {
        format,
        from: settings.reportMailFrom || `portsnare@${host}`,
        to: recipients,
        text: renderText(view),
        html: format === 'html' ? renderHtml(view) : null,
        json: format === 'json' ? renderJson(view) : null,
        raw: data.raw,
      });
      // A failed delivery throws here, before any offset or listing moves.
      await deliverMail(mail, await transportOf(settings));
    }
  }
  if (options.test !== true && useOffsets) {
    for (const commit of read.commits) await commit();
    // "The previous digest" is the last one sent: a run with nothing to say keeps its listing.
    if (!viewIsEmpty(view)) await writePrevious(settings.reportStateDir, listingOf(view));
  }
  return ExitCodes.OK;
}
