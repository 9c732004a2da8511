/**
 * @module config/path-trust
 * Whether STATE_DIR can be trusted by a root daemon, as sshd's StrictModes decides for ~/.ssh:
 * STATE_DIR and every directory above it (following symlinks component by component, each link
 * checked too) must be owned by root or the given uid and not writable by group or others. The one
 * exception is a parent with the sticky bit (like /tmp, mode 1777): there only an entry's owner can
 * rename or delete it, so such a parent is accepted when the component below it is owned by root or
 * the uid (STATE_DIR itself is never accepted sticky and writable). A component that does not exist
 * yet ends the walk without a problem: the daemon creates it (mkdir, mode 0700) and checks again
 * after creating it. Opening files inside it safely is state/dir-trust's.
 */
import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { systemErrorCode } from '../errors.ts';

export interface TrustProblem {
  path: string;
  why: string;
  /** Set when the path could not even be looked at (EACCES for a user who may not look). */
  errno?: string;
}

export interface TrustOptions {
  /** The uid trusted besides root (the daemon's own uid when not root). Default: this process's. */
  uid?: number;
}

const MAX_LINKS = 40;
/** The sticky bit (not in node:fs constants). */
const S_ISVTX = 0o1000;

/** This process's uid (0 where there are no uids). */
export function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Every problem that makes `path` (STATE_DIR) untrustworthy; empty when it may be used. */
export function checkStateDirTrust(path: string, opts: TrustOptions = {}): TrustProblem[] {
  const uid = opts.uid ?? currentUid();
  const trusted = (owner: number): boolean => owner === 0 || owner === uid;
  const problems: TrustProblem[] = [];
  if (!isAbsolute(path)) return [{ path, why: 'is not an absolute path' }];

  const pending = path.split('/').filter((c) => c !== '' && c !== '.');
  let current = '/';
  let links = 0;
  const checkDir = (dir: string, st: Stats, isFinal: boolean): boolean => {
    if (!trusted(st.uid))
      problems.push({ path: dir, why: `is owned by uid ${st.uid}, not root or uid ${uid}` });
    if (!st.isDirectory()) {
      problems.push({ path: dir, why: 'is not a directory' });
      return false;
    }
    if ((st.mode & 0o022) !== 0) {
      const sticky = (st.mode & S_ISVTX) !== 0;
      if (!sticky || isFinal) {
        const who = (st.mode & 0o002) !== 0 ? 'everyone' : 'its group';
        problems.push({
          path: dir,
          why: `is writable by ${who} (mode ${octal(st.mode)})${isFinal && sticky ? '; the sticky bit is not enough for STATE_DIR itself' : ''}`,
        });
      }
    }
    return true;
  };
  const lstat = (p: string): Stats | 'absent' | { error: string } => {
    try {
      return lstatSync(p);
    } catch (err) {
      const code = systemErrorCode(err);
      return code === 'ENOENT' ? 'absent' : { error: code ?? String(err) };
    }
  };

  const root = lstat('/');
  if (root !== 'absent' && 'error' in root)
    return [{ path: '/', why: `cannot be checked: ${root.error}`, errno: root.error }];
  if (root !== 'absent') checkDir('/', root, pending.length === 0);

  while (pending.length > 0) {
    const component = pending.shift() ?? '';
    if (component === '..') {
      current = posix.dirname(current);
      continue;
    }
    const next = join(current, component);
    const st = lstat(next);
    if (st === 'absent') break; // created later, and checked again then
    if ('error' in st) {
      problems.push({ path: next, why: `cannot be checked: ${st.error}`, errno: st.error });
      break;
    }
    if (st.isSymbolicLink()) {
      if (!trusted(st.uid)) {
        problems.push({
          path: next,
          why: `is a symbolic link owned by uid ${st.uid}, not root or uid ${uid}`,
        });
      }
      if (++links > MAX_LINKS) {
        problems.push({ path: next, why: `more than ${MAX_LINKS} symbolic links` });
        break;
      }
      let target: string;
      try {
        target = readlinkSync(next);
      } catch (err) {
        problems.push({ path: next, why: `cannot be read: ${systemErrorCode(err) ?? String(err)}` });
        break;
      }
      pending.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
      if (isAbsolute(target)) current = '/';
      continue;
    }
    if (!checkDir(next, st, pending.length === 0)) break;
    current = next;
  }
  return problems;
}

/** One line per problem: `PATH: why`. */
export function formatTrustProblems(problems: readonly TrustProblem[]): string[] {
  return problems.map((p) => `${p.path}: ${p.why}`);
}
