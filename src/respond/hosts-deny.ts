/**
 * @module respond/hosts-deny
 * Adds a KILL_HOSTS_DENY line to hosts.deny only if the exact line is not already there, by writing a
 * complete new file beside it and renaming it over the old one: a reader never sees half a file, a
 * crash never truncates it, and the file keeps its mode and owner. A symlinked hosts.deny is followed.
 * Writers to the same file are serialised within the process.
 */
import { chown, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { systemErrorCode } from '../errors.ts';

const queues = new Map<string, Promise<unknown>>();

function serialised<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.then(task, task);
  queues.set(
    key,
    next.catch(() => undefined),
  );
  return next;
}

export type HostsDenyOutcome = 'added' | 'present';

export function addHostsDenyLine(path: string, line: string): Promise<HostsDenyOutcome> {
  if (line.includes('\n') || line.includes('\r')) {
    return Promise.reject(new Error('hosts.deny line contains a line break'));
  }
  return serialised(path, async () => {
    let target = path;
    try {
      target = await realpath(path);
    } catch (err) {
      if (systemErrorCode(err) !== 'ENOENT') throw err;
    }
    let current = '';
    let mode = 0o644;
    let owner: { uid: number; gid: number } | null = null;
    try {
      current = await readFile(target, 'utf8');
      const s = await stat(target);
      mode = s.mode & 0o7777;
      owner = { uid: s.uid, gid: s.gid };
    } catch (err) {
      if (systemErrorCode(err) !== 'ENOENT') throw err;
    }
    if (current.split('\n').some((existing) => existing.trim() === line.trim())) return 'present';

    const separator = current === '' || current.endsWith('\n') ? '' : '\n';
    const temp = join(dirname(target), `.${basename(target)}.portsnare-${process.pid}-${Date.now()}`);
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(`${current}${separator}${line}\n`);
      await handle.chmod(mode);
      await handle.sync();
    } catch (err) {
      await handle.close();
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await handle.close();
    try {
      if (owner) await chown(temp, owner.uid, owner.gid).catch(() => undefined);
      await rename(temp, target);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    return 'added';
  });
}
