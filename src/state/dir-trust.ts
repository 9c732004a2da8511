/**
 * @module state/dir-trust
 * Whether STATE_DIR can be trusted by a root daemon, as sshd's StrictModes decides for ~/.ssh:
 * STATE_DIR and every directory above it (following symlinks component by component, each link
 * checked too) must be owned by root or the given uid and not writable by group or others. The one
 * exception is a parent with the sticky bit (like /tmp, mode 1777): there only an entry's owner can
 * rename or delete it, so such a parent is accepted when the component below it is owned by root or
 * the uid (STATE_DIR itself is never accepted sticky and writable). A component that does not exist
 * yet ends the walk without a problem: the daemon creates it (mkdir, mode 0700) and must check again
 * after creating it. Also opening files in STATE_DIR without following a planted symlink (O_NOFOLLOW)
 * and without trusting a planted file (O_EXCL, or an fstat check before truncating).
 */
import { constants, lstatSync, readlinkSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import { ErrorCodes, PortsnareError, systemErrorCode } from '../errors.ts';

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

function currentUid(): number {
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

function fileIn(dir: string, name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new PortsnareError(ErrorCodes.UNSAFE_PATH, `"${name}" is not a plain file name`);
  }
  return join(dir, name);
}

function refuseLink(path: string, err: unknown): never {
  if (systemErrorCode(err) === 'ELOOP') {
    throw new PortsnareError(ErrorCodes.UNSAFE_PATH, `${path} is a symbolic link; refused`, { cause: err });
  }
  throw err;
}

/**
 * Creates `name` in `dir`, which must not exist yet: O_CREAT|O_EXCL|O_NOFOLLOW, so neither a planted
 * file nor a planted symlink is ever opened. EEXIST is thrown as the system error (callers such as a
 * lock decide what a leftover file means); a symlink is PortsnareError UNSAFE_PATH.
 */
export async function createExclusive(dir: string, name: string, mode = 0o600): Promise<FileHandle> {
  const path = fileIn(dir, name);
  try {
    return await open(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      mode,
    );
  } catch (err) {
    return refuseLink(path, err);
  }
}

/**
 * Opens `name` in `dir` for rewriting (the pid file): created if absent, never through a symlink
 * (O_NOFOLLOW), never blocking on a FIFO (O_NONBLOCK); an existing file is truncated only once
 * fstat shows a regular file with one link, owned by root or `uid`. Anything else is UNSAFE_PATH.
 */
export async function openForReplace(
  dir: string,
  name: string,
  opts: { mode?: number; uid?: number } = {},
): Promise<FileHandle> {
  const path = fileIn(dir, name);
  const uid = opts.uid ?? currentUid();
  let handle: FileHandle;
  try {
    handle = await open(
      path,
      constants.O_WRONLY |
        constants.O_CREAT |
        constants.O_NOFOLLOW |
        constants.O_NONBLOCK |
        constants.O_NOCTTY,
      opts.mode ?? 0o600,
    );
  } catch (err) {
    if (systemErrorCode(err) === 'ENXIO') {
      throw new PortsnareError(ErrorCodes.UNSAFE_PATH, `${path} is a FIFO; refused`, { cause: err });
    }
    return refuseLink(path, err);
  }
  try {
    const st = await handle.stat();
    const why = !st.isFile()
      ? 'is not a regular file'
      : st.nlink !== 1
        ? `has ${st.nlink} hard links`
        : st.uid !== 0 && st.uid !== uid
          ? `is owned by uid ${st.uid}`
          : null;
    if (why) throw new PortsnareError(ErrorCodes.UNSAFE_PATH, `${path} ${why}; refused`);
    await handle.truncate(0);
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Replaces the content of `name` in `dir` through openForReplace (the pid file). */
export async function writeStateFile(
  dir: string,
  name: string,
  data: string,
  opts: { mode?: number; uid?: number } = {},
): Promise<void> {
  const handle = await openForReplace(dir, name, opts);
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}
