/**
 * @module config/path-checks
 * Checks the type of every path the settings name, before anything is opened: STATE_DIR must be a
 * directory (or absent, to be created under a directory), HISTORY_FILE, HOSTS_DENY_FILE, IGNORE_FILE,
 * the per-mode BLOCKED_FILE files and the config file regular files (or absent), SYSLOG_SOCKET a
 * socket. A FIFO, device, directory or socket in the wrong place is an error with file, line and
 * key, so check-config reports it and a start refuses it instead of hanging or losing lines. The
 * file system is reached only through the `stat` function given (the default follows symlinks).
 * stateDirTrustDiagnostics turns state/dir-trust's ownership and mode problems into diagnostics.
 */
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { systemErrorCode } from '../errors.ts';
import { checkStateDirTrust, type TrustOptions } from './path-trust.ts';
import type { Diagnostic } from './diagnostic.ts';
import type { LoadedSettings } from './settings.ts';

export type PathKind =
  'file' | 'directory' | 'socket' | 'fifo' | 'character device' | 'block device' | 'other';

/** What is at a path: its kind, 'absent' (ENOENT), or another errno (ENOTDIR, EACCES, ELOOP...). */
export type PathStat = PathKind | 'absent' | { error: string };
export type StatFn = (path: string) => PathStat;

/** The default StatFn: stat(2), following symlinks. */
export function statPath(path: string): PathStat {
  try {
    const st = statSync(path);
    if (st.isFile()) return 'file';
    if (st.isDirectory()) return 'directory';
    if (st.isSocket()) return 'socket';
    if (st.isFIFO()) return 'fifo';
    if (st.isCharacterDevice()) return 'character device';
    if (st.isBlockDevice()) return 'block device';
    return 'other';
  } catch (err) {
    const code = systemErrorCode(err);
    return code === 'ENOENT' ? 'absent' : { error: code ?? String(err) };
  }
}

/** The per-mode files PortSentry 1.2 keeps next to BLOCKED_FILE. */
export const BLOCKED_FILE_MODES = ['tcp', 'udp', 'stcp', 'sudp', 'atcp', 'audp'] as const;

const article = (kind: PathKind): string => (kind === 'other' ? 'an unusual file' : `a ${kind}`);

export function checkPaths(loaded: LoadedSettings, stat: StatFn = statPath): Diagnostic[] {
  const { settings } = loaded;
  const file = loaded.path ?? '(built-in defaults)';
  const diagnostics: Diagnostic[] = [];
  const lineOf = (key: string): number => {
    const origin = loaded.sources.find((s) => s.key === key)?.origin;
    return origin && origin !== 'default' ? origin.line : 0;
  };
  const error = (key: string | undefined, message: string, severity: Diagnostic['severity'] = 'error') =>
    diagnostics.push({
      severity,
      file: key ? file : (loaded.path ?? file),
      line: key ? lineOf(key) : 0,
      ...(key ? { key } : {}),
      message,
    });

  /** Reports `path` unless it is `want` (or absent and `absentOk`). */
  const expect = (
    key: string | undefined,
    path: string,
    want: PathKind,
    absent: 'ok' | 'parent-dir' | 'warn',
  ): void => {
    const found = stat(path);
    const wanted = want === 'file' ? 'a regular file' : `a ${want}`;
    if (found === want) return;
    if (found === 'absent') {
      if (absent === 'warn') error(key, `${path} does not exist; it must be ${wanted}`, 'warning');
      if (absent === 'parent-dir') {
        // Created later: the nearest existing ancestor must be a directory.
        let parent = dirname(path);
        let up = stat(parent);
        while (up === 'absent' && parent !== dirname(parent)) {
          parent = dirname(parent);
          up = stat(parent);
        }
        if (up !== 'directory' && up !== 'absent') {
          error(key, `${path} cannot be created: ${parent} is ${describe(up)}, not a directory`);
        }
      }
      return;
    }
    if (typeof found === 'object') {
      error(
        key,
        found.error === 'ENOTDIR'
          ? `${path}: a parent of it is not a directory`
          : `${path} cannot be checked: ${found.error}`,
      );
      return;
    }
    error(
      key,
      `${path} is ${article(found)}; it must be ${wanted}${absent === 'warn' ? '' : ' (or not exist yet)'}`,
    );
  };

  if (loaded.path !== null) expect(undefined, loaded.path, 'file', 'ok');
  expect('STATE_DIR', settings.stateDir, 'directory', 'parent-dir');
  expect('HISTORY_FILE', settings.historyFile, 'file', 'parent-dir');
  expect('HOSTS_DENY_FILE', settings.hostsDenyFile, 'file', 'parent-dir');
  for (const mode of BLOCKED_FILE_MODES) {
    const before = diagnostics.length;
    expect('BLOCKED_FILE', `${settings.blockedFile}.${mode}`, 'file', 'parent-dir');
    // One message is enough when the directory itself is the problem.
    if (diagnostics.length > before && diagnostics.at(-1)?.message.includes('cannot be created')) break;
  }
  // A missing ignore file is reported by its reader already.
  expect('IGNORE_FILE', settings.ignoreFile, 'file', 'ok');
  expect('SYSLOG_SOCKET', settings.syslogSocket, 'socket', 'warn');
  return diagnostics;
}

function describe(found: PathStat): string {
  if (typeof found === 'object') return `unreadable (${found.error})`;
  return found === 'absent' ? 'absent' : article(found);
}

/** STATE_DIR's trust problems (owner, mode of it and every parent) as errors on the STATE_DIR key. */
export function stateDirTrustDiagnostics(loaded: LoadedSettings, opts: TrustOptions = {}): Diagnostic[] {
  const origin = loaded.sources.find((s) => s.key === 'STATE_DIR')?.origin;
  const line = origin && origin !== 'default' ? origin.line : 0;
  return checkStateDirTrust(loaded.settings.stateDir, opts).map((problem) => ({
    severity: 'error' as const,
    file: loaded.path ?? '(built-in defaults)',
    line,
    key: 'STATE_DIR',
    message: `${problem.path} ${problem.why}: a root daemon cannot trust files there (fix the owner or mode)`,
  }));
}
