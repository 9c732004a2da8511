// The differential test of `portsnare logcheck` against the real Debian logcheck 1.4.2 (installed by
// .ci/run with logcheck-database): both run, as the logcheck user, on the same generated inputs with
// Debian's stock rules at each report level (-o -t), and their outputs must be equal byte for byte.
// The inputs are the fixtures' sample lines with their variable parts changed (times, hosts, pids,
// addresses, ports, user names), in both timestamp formats, plus lines of portsnare's own texts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PORTSNARE_BIN, REPO_ROOT } from '../helpers/daemon.ts';
import {
  asUser,
  copyStockRules,
  lockConf,
  LOGCHECK,
  logcheckUser,
  printRunArgs,
  runOursAndLogcheck,
  stockRulesAvailable,
} from '../helpers/logcheck-rules.ts';
import { prng } from '../builders/fuzz.ts';

// The fixtures of ../shared/reference/logcheck-fixtures, copied into the repository (CI has no ../shared).
const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'logcheck');

/** The sample's lines with their variable parts redrawn, `n` of them. */
function generate(n: number, seed: number): string[] {
  const base = [
    ...readFileSync(join(FIXTURES, 'input', 'sample.log'), 'utf8')
      .split('\n')
      .slice(0, -1),
    ...readFileSync(join(FIXTURES, 'input', 'sample-rfc3339.log'), 'utf8')
      .split('\n')
      .slice(0, -1),
  ];
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let line = pick(base);
    line = line.replace(/\[\d+\]/, () => `[${1 + Math.floor(r() * 99999)}]`);
    line = line.replace(/(\d{2}):(\d{2}):(\d{2})/, () =>
      [10 + Math.floor(r() * 3), Math.floor(r() * 60), Math.floor(r() * 60)]
        .map((x) => String(x).padStart(2, '0'))
        .join(':'),
    );
    line = line.replace(
      /\b(203\.0\.113|198\.51\.100|192\.0\.2)\.\d+\b/g,
      () => `${pick(['203.0.113', '198.51.100', '192.0.2'])}.${1 + Math.floor(r() * 254)}`,
    );
    line = line.replace(/port (\d+)/g, () => `port ${1 + Math.floor(r() * 65535)}`);
    if (r() < 0.05) line += pick([' ', '  ', '\t']);
    out.push(line);
  }
  return out;
}

/** A scratch tree for both programs: the fixture conf (lock inside), Debian's rules, a state dir. */
function scratch(
  t: { after(fn: () => void): void },
  prefix: string,
  user: { uid: number; gid: number } | null,
): { w: string; rules: string } {
  const w = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(w, { recursive: true, force: true }));
  chmodSync(w, 0o755);
  writeFileSync(
    join(w, 'fixture.conf'),
    `${readFileSync(join(FIXTURES, 'conf', 'fixture.conf'), 'utf8')}${lockConf(w, user)}`,
  );
  const rules = copyStockRules(join(w, 'rules'), user);
  mkdirSync(join(w, 'state'));
  if (user) chownSync(join(w, 'state'), user.uid, user.gid);
  return { w, rules };
}

test('portsnare logcheck prints what logcheck 1.4.2 prints, at every level, on generated inputs', async (t) => {
  assert.ok(
    existsSync(LOGCHECK) && stockRulesAvailable(),
    'Debian logcheck is not installed: .ci/run installs it',
  );
  const user = logcheckUser();
  if (process.getuid?.() === 0)
    assert.ok(user, 'running as root needs the logcheck user (from the logcheck package)');
  const { w, rules } = scratch(t, 'psn-lcdiff-', user);
  for (const [seed, levels] of [
    [1, ['-p', '-s', '-w']],
    [2, ['-s']],
  ] as const) {
    const log = join(w, `gen-${seed}.log`);
    writeFileSync(
      log,
      generate(1500, seed)
        .map((l) => `${l}\n`)
        .join(''),
    );
    if (user) chownSync(log, user.uid, user.gid);
    for (const level of levels) {
      await t.test(`seed ${seed} ${level}`, () => {
        const args = printRunArgs({
          conf: join(w, 'fixture.conf'),
          rules,
          state: join(w, 'state'),
          log,
          level,
        });
        const { real: realRun, ours: oursRun } = runOursAndLogcheck(user, args, w);
        assert.equal(realRun.status, 0, realRun.stderr);
        assert.equal(oursRun.status, 0, oursRun.stderr);
        assert.ok(realRun.stdout.length > 0);
        assert.equal(oursRun.stdout, realRun.stdout);
      });
    }
  }
});

test('a long run (classified in a worker thread) prints what logcheck 1.4.2 prints', (t) => {
  assert.ok(
    existsSync(LOGCHECK) && stockRulesAvailable(),
    'Debian logcheck is not installed: .ci/run installs it',
  );
  const user = logcheckUser();
  const { w, rules } = scratch(t, 'psn-lclong-', user);
  const log = join(w, 'long.log');
  // 12 MB: past the 8 MiB the run classifies itself before it starts a worker.
  writeFileSync(
    log,
    generate(120_000, 3)
      .map((l) => `${l}\n`)
      .join(''),
  );
  if (user) chownSync(log, user.uid, user.gid);
  const args = printRunArgs({
    conf: join(w, 'fixture.conf'),
    rules,
    state: join(w, 'state'),
    log,
    level: '-s',
  });
  const spawn = (argv: string[]) => {
    const full = asUser(user, argv);
    return spawnSync(full[0]!, full.slice(1), { cwd: w, encoding: 'utf8', maxBuffer: 1 << 28 });
  };
  const real = spawn([LOGCHECK, ...args]);
  // -d for ours only: it says how the lines were classified (logcheck's -d traces every command).
  const ours = spawn([process.execPath, PORTSNARE_BIN, 'logcheck', ...args, '-d']);
  assert.equal(real.status, 0, real.stderr.slice(-2000));
  assert.equal(ours.status, 0, ours.stderr);
  assert.match(ours.stderr, /classified with 1 worker thread/);
  assert.ok(real.stdout.length > 1_000_000, `report of ${real.stdout.length} bytes`);
  assert.ok(
    ours.stdout === real.stdout,
    `reports differ: ${ours.stdout.length} vs ${real.stdout.length} bytes`,
  );
});
