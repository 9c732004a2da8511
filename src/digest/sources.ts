/**
 * @module digest/sources
 * The lines a digest reads. From its own offsets (the default): each log of logcheck's logfile
 * lists through logcheck/log-source, rotation and compressed generations included, with offset
 * files in REPORT_STATE_DIR; the journal by its cursor. Or whole: the files given with `--log`,
 * and with `--since` the logs of the lists with their last rotated generation (`.1`, `.1.gz`,
 * `.0`) and the journal from that time, nothing moved.
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ErrorCodes, PortsnareError } from '../errors.ts';
import type { LogcheckSettings } from '../logcheck/conf.ts';
import {
  openJournalRead,
  openLogRead,
  readLogfileLists,
  type LogSourceEntry,
} from '../logcheck/log-source.ts';

export async function listReportSources(
  logs: readonly string[] | undefined,
  lc: LogcheckSettings,
): Promise<{ sources: LogSourceEntry[]; errors: string[] }> {
  if (logs !== undefined) {
    for (const path of logs) {
      if (!existsSync(path)) throw new PortsnareError(ErrorCodes.FILE, `${path}: no such log`);
    }
    return { sources: logs.map((path) => ({ kind: 'file', path })), errors: [] };
  }
  const lists = await readLogfileLists(lc.logfilesList, lc.logfilesListD);
  return { sources: [...lists.sources], errors: [...lists.errors] };
}

export interface ReadOptions {
  /** Offsets kept here; null: read whole (`--log`, `--since`), nothing to commit. */
  readonly stateDir: string | null;
  /** `--since` (ms): the lists' logs with their last rotated generation, and the journal from then. */
  readonly since: number | null;
  readonly onLine: (line: string) => void;
  readonly note: (text: string) => void;
}

export async function readSources(
  sources: readonly LogSourceEntry[],
  options: ReadOptions,
): Promise<{ commits: (() => Promise<void>)[] }> {
  const commits: (() => Promise<void>)[] = [];
  for (const source of sources) {
    if (options.stateDir !== null) {
      if (source.kind === 'journal') {
        const read = await openJournalRead({ stateDir: options.stateDir });
        for await (const batch of read.batches) for (const l of batch.lines) options.onLine(l);
        commits.push(() => read.commit());
      } else {
        const read = await openLogRead(source.path, { stateDir: options.stateDir });
        try {
          for await (const batch of read.batches) for (const l of batch.lines) options.onLine(l);
        } finally {
          await read.close();
        }
        commits.push(() => read.commit());
      }
      continue;
    }
    if (source.kind === 'journal') {
      const since = options.since ?? 0;
      await readStream(
        spawnOutput('journalctl', ['--quiet', '--no-pager', `--since=@${Math.floor(since / 1000)}`]),
        options.onLine,
      );
      continue;
    }
    if (options.since !== null) {
      const rotated = [`${source.path}.1`, `${source.path}.1.gz`, `${source.path}.0`].find((p) =>
        existsSync(p),
      );
      if (rotated !== undefined) await readStream(openWhole(rotated), options.onLine);
    }
    await readStream(openWhole(source.path), options.onLine);
  }
  return { commits };
}

/** A whole file, decompressed by its name (`.gz` here; `.xz` and `.zst` by their programs). */
function openWhole(path: string): Readable {
  if (path.endsWith('.gz')) return createReadStream(path).pipe(createGunzip());
  if (path.endsWith('.xz')) return spawnOutput('xz', ['-dc', '--', path]);
  if (path.endsWith('.zst')) return spawnOutput('zstd', ['-dcq', '--', path]);
  return createReadStream(path);
}

/** A program's stdout; a non-zero exit fails the read with its first line of stderr. */
function spawnOutput(program: string, args: readonly string[]): Readable {
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const fail = (why: string) =>
    child.stdout.destroy(
      new PortsnareError(ErrorCodes.COMMAND_FAILED, `${program} ${args.join(' ')}: ${why}`),
    );
  child.on('error', (err) => fail(err.message));
  child.on('close', (code, signal) => {
    if (code !== 0) fail(signal ? `killed by ${signal}` : `exit ${code}: ${stderr.split('\n')[0] ?? ''}`);
  });
  return child.stdout;
}

/**
 * Lines split on "\n" only (readline also splits on a lone "\r", which syslog lines may carry), a
 * chunk at a time: on the 1,000,000-line day of the bench this is 0.15 s less than readline.
 */
async function readStream(stream: Readable, onLine: (line: string) => void): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const text = rest + decoder.write(chunk);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      onLine(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.end();
  if (rest !== '') onLine(rest);
}
