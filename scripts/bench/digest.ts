// Part 5 of `npm run bench`: `portsnare report` (issue 12's figures). (1) The text digest of the
// fixture sample against the mail Debian's logcheck 1.4.2 made for it at level server
// (test/fixtures/logcheck/expected/mail-server.eml, made by the real logcheck; the goal is at most a
// fifth). (2) A generated day of 1,000,000 lines with 5,000 blocked hosts (test/helpers/digest-day):
// the whole command's wall time and peak RSS, and the size of the mail it hands to sendmail (a
// script that keeps it), as text and as html (multipart/alternative). Goal: at most 100 KB, built
// in at most 5 s.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDay } from '../../test/helpers/digest-day.ts';
import { copyStockRules, stockRulesAvailable } from '../../test/helpers/logcheck-rules.ts';
import { fixed, int, mib } from './stats.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'portsnare');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'logcheck');

function run(argv: string[]): { ms: number; status: number | null; stdout: string; stderr: string } {
  const started = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { ms: performance.now() - started, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function runDigestBench(progress: (text: string) => void): string[] {
  const out = ['Part 5: portsnare report (digests), level server, Debian stock rules', ''];
  if (!stockRulesAvailable()) {
    return [...out, '  Skipped: logcheck-database is not installed (.ci/run installs it).'];
  }
  const w = mkdtempSync(join(tmpdir(), 'psn-bench-digest-'));
  try {
    const rules = copyStockRules(join(w, 'rules'));
    writeFileSync(join(w, 'logcheck.conf'), `RULEDIR="${rules}"\nREPORTLEVEL="server"\n`);
    writeFileSync(join(w, 'sendmail'), `#!/bin/sh\ncat > "${join(w, 'mail.eml')}"\n`);
    chmodSync(join(w, 'sendmail'), 0o755);
    const conf = (format: string) => {
      const path = join(w, `${format}.conf`);
      writeFileSync(
        path,
        `REPORT_LOGCHECK_CONF="${join(w, 'logcheck.conf')}"\nREPORT_STATE_DIR="${join(w, 'state')}"\n` +
          `REPORT_SENDMAIL="${join(w, 'sendmail')}"\nREPORT_FORMAT="${format}"\nREPORT_MAIL_TO="root"\n`,
      );
      return path;
    };
    const rss = join(w, 'max-rss.mjs');
    writeFileSync(
      rss,
      "process.on('exit', () => process.stderr.write(`max-rss-kib ${process.resourceUsage().maxRSS}\\n`));\n",
    );
    const report = (format: string, log: string, extra: string[] = []) =>
      run([
        process.execPath,
        '--import',
        rss,
        BIN,
        'report',
        '--config',
        conf(format),
        '--log',
        log,
        ...extra,
      ]);

    const sample = report('text', join(FIXTURES, 'input', 'sample.log'), ['--stdout']);
    const logcheckMail = statSync(join(FIXTURES, 'expected', 'mail-server.eml')).size;
    const digestBytes = Buffer.byteLength(sample.stdout);
    report('text', join(FIXTURES, 'input', 'sample.log'));
    const sampleMail = statSync(join(w, 'mail.eml')).size;
    out.push(
      `  Sample (229 lines, 110 PortSentry): text digest ${int(digestBytes)} bytes, as a mail ${int(sampleMail)} bytes;`,
      `    logcheck's mail ${int(logcheckMail)} bytes: the digest is ${fixed(logcheckMail / digestBytes, 2)}x smaller (goal: 5x).`,
    );

    progress('digest bench: writing a day of 1,000,000 lines');
    const day = join(w, 'day.log');
    writeDay(day, { lines: 1_000_000, blockedHosts: 5000 });
    for (const format of ['text', 'html']) {
      progress(`digest bench: portsnare report --format ${format} on the day`);
      const r = report(format, day);
      const mail = readFileSync(join(w, 'mail.eml'));
      const peak = Number(/max-rss-kib (\d+)/.exec(r.stderr)?.[1] ?? NaN) * 1024;
      out.push(
        `  Day, ${fixed(statSync(day).size / 1e6, 0)} MB, 1,000,000 lines, 5,000 blocked hosts, --format ${format}: ` +
          `${fixed(r.ms / 1000, 2)} s (exit ${r.status}), peak RSS ${mib(peak)}, mail ${int(mail.length)} bytes`,
      );
      if (r.status !== 0) out.push(`    portsnare said: ${r.stderr.split('\n').slice(0, 3).join(' | ')}`);
    }
    out.push('  Goal (issue 12): the mail at most 100 KB, built in at most 5 s.');
    return out;
  } finally {
    rmSync(w, { recursive: true, force: true });
  }
}
