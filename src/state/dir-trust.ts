/**
 * @module state/dir-trust
 * Opening files in STATE_DIR without following a planted symlink (O_NOFOLLOW) and without trusting a
 * planted file (O_EXCL, or an fstat check before truncating). Whether STATE_DIR itself may be
 * trusted is config/path-trust's walk, re-exported here for the daemon's start.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, PortsnareError, systemErrorCode } from '../errors.ts';

import { currentUid } from '../config/path-trust.ts';
export {
  checkStateDirTrust,
  formatTrustProblems,
  type TrustOptions,
  type TrustProblem,
} from '../config/path-trust.ts';

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
