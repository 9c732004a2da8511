// Part 4 of `npm run bench`: `portsnare logcheck` against Debian's logcheck 1.4.2 on one large log,
// in the same run. The log is the fixtures' sample (229 lines) repeated to at least 100 MB; both
// run as the logcheck user (setpriv, when the bench runs as root) with `-o -t -s` on Debian's stock
// rules (a copy of /etc/logcheck with the fixture host's rsyslog rule, test/helpers/logcheck-rules)
// and a private state dir. Reported: wall time of each, the ratio, portsnare's peak RSS
// (process.resourceUsage().maxRSS, printed at exit by a preload), and whether the two reports are
// identical. The goal (issue 11): at least 20x faster, at most 256 MB RSS.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  asUser,
  copyStockRules,
  lockConf,
  LOGCHECK,
  logcheckUser,
  printRunArgs,
  stockRulesAvailable,
} from '../../test/helpers/logcheck-rules.ts';
import { fixed, int, mib } from './stats.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'portsnare');
const SAMPLE = join(ROOT, 'test', 'fixtures', 'logcheck', 'input', 'sample.log');
const CONF = join(ROOT, 'test', 'fixtures', 'logcheck', 'conf', 'fixture.conf');
const TARGET_BYTES = 100 * 1024 * 1024;

function timed(
  argv: string[],
  cwd: string,
): { ms: number; status: number | null; stdout: string; stderr: string } {
  const started = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: 'utf8', maxBuffer: 1 << 30 });
  return { ms: performance.now() - started, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function runLogcheckBench(progress: (text: string) => void): string[] {
  const out = [
    'Part 4: portsnare logcheck vs Debian logcheck 1.4.2 on a 100 MB log (level server, -o -t)',
    '',
  ];
  if (!existsSync('/usr/sbin/logcheck') || !stockRulesAvailable()) {
    return [
      ...out,
      '  Skipped: Debian logcheck and logcheck-database are not installed (.ci/run installs them).',
    ];
  }
  const user = logcheckUser();
  if (process.getuid?.() === 0 && !user)
    return [...out, '  Skipped: running as root needs the logcheck user.'];
  const w = mkdtempSync(join(tmpdir(), 'psn-bench-logcheck-'));
  try {
    chmodSync(w, 0o755);
    const rules = copyStockRules(join(w, 'rules'), user);
    mkdirSync(join(w, 'state'));
    writeFileSync(join(w, 'fixture.conf'), `${readFileSync(CONF, 'utf8')}${lockConf(w, user)}`);
    writeFileSync(
      join(w, 'max-rss.mjs'),
      "process.on('exit', () => process.stderr.write(`max-rss-kib ${process.resourceUsage().maxRSS}\\n`));\n",
    );
    progress('logcheck bench: writing a 100 MB log');
    const sample = readFileSync(SAMPLE);
    const log = join(w, 'big.log');
    const fd = openSync(log, 'w');
    let bytes = 0;
    const batch = Buffer.concat(Array.from({ length: 64 }, () => sample));
    while (bytes < TARGET_BYTES) bytes += writeSync(fd, batch);
    closeSync(fd);
    const lines = (bytes / sample.length) * 229;
    if (user) for (const p of [w, join(w, 'state'), log]) chownSync(p, user.uid, user.gid);
    const args = printRunArgs({
      conf: join(w, 'fixture.conf'),
      rules,
      state: join(w, 'state'),
      log,
      level: '-s',
    });
    progress('logcheck bench: portsnare logcheck');
    const ours = timed(
      asUser(user, [process.execPath, '--import', join(w, 'max-rss.mjs'), BIN, 'logcheck', ...args]),
      w,
    );
    const rss = Number(/max-rss-kib (\d+)/.exec(ours.stderr)?.[1] ?? NaN) * 1024;
    progress('logcheck bench: Debian logcheck (about a minute)');
    const real = timed(asUser(user, [LOGCHECK, ...args]), w);
    const same = ours.stdout === real.stdout;
    out.push(
      `  Log: ${fixed(bytes / 1e6, 0)} MB, ${int(lines)} lines (the sample repeated); report ${fixed(real.stdout.length / 1e6, 1)} MB.`,
      `  Debian logcheck:   ${fixed(real.ms / 1000, 1)} s (exit ${real.status})`,
      `  portsnare logcheck: ${fixed(ours.ms / 1000, 1)} s (exit ${ours.status}), peak RSS ${mib(rss)}`,
      `  portsnare is ${fixed(real.ms / ours.ms, 1)}x faster; reports ${same ? 'identical' : `DIFFER (${ours.stdout.length} vs ${real.stdout.length} bytes)`}.`,
      `  Goal (issue 11): at least 20x faster, at most 256 MB RSS. Log size on disk: ${int(statSync(log).size)} bytes.`,
    );
    if (ours.status !== 0) out.push(`  portsnare said: ${ours.stderr.split('\n').slice(0, 3).join(' | ')}`);
    return out;
  } finally {
    rmSync(w, { recursive: true, force: true });
  }
}
