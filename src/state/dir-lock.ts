/**
 * @module state/dir-lock
 * One process at a time per state directory: a lock file holding the owner's pid, created with
 * O_EXCL. A lock whose pid is no longer running (the owner was killed) is taken over; one whose pid
 * runs is refused with that pid in the message. (A reused pid can keep a stale lock: the message
 * names the file to delete.)
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { ErrorCodes, PortsnareError, systemErrorCode } from '../errors.ts';

/** Whether a process with this pid exists (EPERM: it does, and is someone else's). */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return systemErrorCode(err) === 'EPERM';
  }
}

export async function acquireDirLock(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => unlink(path).catch(() => undefined);
    } catch (err) {
      if (systemErrorCode(err) !== 'EEXIST') throw err;
    }
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && processRunning(pid)) {
      throw new PortsnareError(
        ErrorCodes.FILE,
        `in use by process ${pid} (lock file ${path}; delete it only if that process is not portsnare)`,
      );
    }
    await unlink(path).catch(() => undefined); // stale: its owner is gone
  }
  throw new PortsnareError(ErrorCodes.FILE, `could not take the lock ${path}`);
}
