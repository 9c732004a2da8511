// Debian's stock logcheck rules as the fixtures saw them: a copy of /etc/logcheck (logcheck-database,
// installed by .ci/run) plus ignore.d.server/rsyslog, which the fixture host had from the rsyslog
// package and .ci/run takes from that package into test/.cache (rsyslog itself is not installed:
// it would start a syslog daemon on /dev/log). Tests never write under /etc/logcheck.
import { spawnSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PORTSNARE_BIN, REPO_ROOT } from './daemon.ts';

export const RSYSLOG_RULE = join(
  REPO_ROOT,
  'test',
  '.cache',
  'logcheck-rsyslog',
  'ignore.d.server',
  'rsyslog',
);

/** Whether the stock rules can be had here (logcheck-database installed, rsyslog's file cached). */
export function stockRulesAvailable(): boolean {
  return existsSync('/etc/logcheck/ignore.d.server/ssh') && existsSync(RSYSLOG_RULE);
}

/**
 * Copies the stock rule tree to `dir` (which must not exist) and returns it; `owner`: chowned to
 * it (the stock files are root:logcheck 0640, so a copy made by root is unreadable to logcheck).
 */
export function copyStockRules(dir: string, owner?: { uid: number; gid: number } | null): string {
  cpSync('/etc/logcheck', dir, { recursive: true });
  const target = join(dir, 'ignore.d.server', 'rsyslog');
  if (!existsSync(target)) cpSync(RSYSLOG_RULE, target);
  if (owner) chownTree(dir, owner);
  return dir;
}

/** chown -R. */
export function chownTree(path: string, owner: { uid: number; gid: number }): void {
  chownSync(path, owner.uid, owner.gid);
  if (statSync(path).isDirectory())
    for (const entry of readdirSync(path)) chownTree(join(path, entry), owner);
}

/** As root, tests run logcheck and `portsnare logcheck` as the logcheck user (logcheck refuses root); else as themselves. */
export function logcheckUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = spawnSync('id', ['-u', 'logcheck'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'logcheck'], { encoding: 'utf8' });
  return uid.status === 0 ? { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) } : null;
}

/** The argument vector that runs `argv` as `user` (setpriv), or `argv` itself. */
export function asUser(user: { uid: number; gid: number } | null, argv: readonly string[]): string[] {
  return user
    ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', ...argv]
    : [...argv];
}

/** The arguments of a printed, offset-keeping run (`-o -t`) of logcheck or `portsnare logcheck`. */
export function printRunArgs(o: {
  conf: string;
  rules: string;
  state: string;
  log: string;
  level: string;
}): string[] {
  return ['-c', o.conf, '-r', o.rules, '-o', '-t', '-S', o.state, '-l', o.log, o.level];
}

export const LOGCHECK = '/usr/sbin/logcheck';

/** `args` given to `portsnare logcheck` and to the real logcheck, each run as `user`, in `cwd`. */
export function runOursAndLogcheck(
  user: { uid: number; gid: number } | null,
  args: readonly string[],
  cwd: string,
) {
  const run = (argv: string[]) => {
    const full = asUser(user, argv);
    return spawnSync(full[0]!, full.slice(1), { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
  };
  return {
    ours: run([process.execPath, PORTSNARE_BIN, 'logcheck', ...args]),
    real: run([LOGCHECK, ...args]),
  };
}

/**
 * logcheck.conf lines that put the run lock (LOCKDIR/LOCKFILE) in `dir`/lock, made here and given
 * to `user`, so neither logcheck nor portsnare takes the host's /run/lock/logcheck in a test.
 */
export function lockConf(dir: string, user: { uid: number; gid: number } | null): string {
  const lock = join(dir, 'lock');
  mkdirSync(lock, { recursive: true, mode: 0o755 });
  if (user) chownSync(lock, user.uid, user.gid);
  return `\nLOCKDIR="${lock}"\nLOCKFILE="${join(lock, 'logcheck')}"\n`;
}
