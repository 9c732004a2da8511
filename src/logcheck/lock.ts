/**
 * @module logcheck/lock
 * logcheck's run lock, in the same place so logcheck and portsnare exclude each other:
 * `LOCKFILE.lock` in LOCKDIR (created 0755 if missing, as logcheck does), made with O_EXCL and kept
 * fresh every minute while the run lasts (lockfile-progs' `lockfile-touch`). A lock that is taken
 * is retried once after a second (`lockfile-create --retry 1`); then the run fails with logcheck's
 * "Another logcheck process is still running".
 *
 * Staleness: lockfile-progs holds no pid (lockfile-create exits at once), so liblockfile calls a
 * lock stale when it was not touched for 5 minutes, and so does this for locks it did not make.
 * Ours carry `<pid> portsnare`, so one left by a portsnare that died is taken over at once, when
 * that process is gone, instead of blocking every run for 5 minutes.
 */
import { mkdir, open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { ErrorCodes, PortsnareError, systemErrorCode } from '../errors.ts';
import { processRunning } from '../state/dir-lock.ts';

/** liblockfile's rule: a lock file not touched for this long is stale. */
const STALE_MS = 5 * 60_000;
const TOUCH_MS = 60_000;
const RETRY_MS = 1000;

export class LockTakenError extends PortsnareError {
  constructor(path: string) {
    super(ErrorCodes.FILE, `Another logcheck process is still running (${path})`);
    this.name = 'LockTakenError';
  }
}

export interface HeldLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Whether the lock at `path` may be taken over: untouched for 5 minutes, or ours and its process gone. */
async function isStale(path: string, now: number): Promise<boolean> {
  try {
    const [st, text] = await Promise.all([stat(path), readFile(path, 'utf8')]);
    const ours = /^(\d+) portsnare\n?$/.exec(text);
    if (ours) return !processRunning(Number(ours[1]));
    return now - st.mtimeMs > STALE_MS;
  } catch (err) {
    // Gone meanwhile: free.
    return systemErrorCode(err) === 'ENOENT';
  }
}

async function tryCreate(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o644);
    await handle.writeFile(`${process.pid} portsnare\n`);
    await handle.close();
    return true;
  } catch (err) {
    if (systemErrorCode(err) === 'EEXIST') return false;
    throw new PortsnareError(
      ErrorCodes.FILE,
      `Failed to get lockfile: ${path} (${systemErrorCode(err) ?? 'error'})`,
      {
        cause: err,
      },
    );
  }
}

export async function acquireLock(lockDir: string, lockFile: string): Promise<HeldLock> {
  try {
    await mkdir(lockDir, { mode: 0o755 });
  } catch (err) {
    if (systemErrorCode(err) !== 'EEXIST') {
      throw new PortsnareError(ErrorCodes.FILE, `Failed to get lockfile: cannot create ${lockDir}`, {
        cause: err,
      });
    }
  }
  const path = `${lockFile}.lock`;
  let taken = await tryCreate(path);
  for (let attempt = 0; !taken && attempt < 2; attempt++) {
    if (await isStale(path, Date.now())) {
      await unlink(path).catch(() => undefined);
    } else if (attempt === 0) {
      await new Promise((r) => setTimeout(r, RETRY_MS));
    } else {
      break;
    }
    taken = await tryCreate(path);
  }
  if (!taken) throw new LockTakenError(path);
  const touch = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, TOUCH_MS);
  touch.unref();
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      clearInterval(touch);
      // Only our own: a lock someone took over after deciding ours was stale stays theirs.
      const text = await readFile(path, 'utf8').catch(() => '');
      if (text === `${process.pid} portsnare\n`) await unlink(path).catch(() => undefined);
    },
  };
}
