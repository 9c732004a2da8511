/**
 * @module respond/hosts-deny
 * Adds KILL_HOSTS_DENY lines to hosts.deny only if the exact line is not already there, and removes
 * them when a ban ends, by writing a complete new file beside it and renaming it over the old one:
 * a reader never sees half a file, a crash never truncates it, and the file keeps its mode and owner.
 * A symlinked hosts.deny is followed. Writers to the same file are serialised within the process.
 * Lines are compared with surrounding blanks trimmed; nothing but exact lines is ever removed.
 * Adds that arrive while a rewrite runs are made together by the next one. The file is read without
 * blocking and only if it is a regular file (config/read-file): a hosts.deny that became a FIFO
 * fails the response at once instead of hanging it.
 */
import { chown, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MAX_CONFIG_FILE_BYTES, readRegularFile } from '../config/read-file.ts';
import { ErrorCodes, PortsnareError, systemErrorCode } from '../errors.ts';

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

function checkLine(line: string): void {
  if (line.includes('\n') || line.includes('\r'))
    throw new PortsnareError(ErrorCodes.TEMPLATE, 'hosts.deny line contains a line break');
}

/**
 * Rewrites the file with `edit`'s result. `edit` gets the current lines (without the final empty
 * one) and returns the new lines, or null to leave the file untouched. Resolves to whether it wrote.
 */
function editHostsDeny(path: string, edit: (lines: string[]) => string[] | null): Promise<boolean> {
  return serialised(path, () => rewrite(path, edit));
}

async function rewrite(path: string, edit: (lines: string[]) => string[] | null): Promise<boolean> {
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
    current = await readRegularFile(target, MAX_CONFIG_FILE_BYTES);
    const s = await stat(target);
    mode = s.mode & 0o7777;
    owner = { uid: s.uid, gid: s.gid };
  } catch (err) {
    if (systemErrorCode(err) !== 'ENOENT') throw err;
  }
  const lines = current === '' ? [] : current.replace(/\n$/, '').split('\n');
  const next = edit(lines);
  if (next === null) return false;

  const temp = join(dirname(target), `.${basename(target)}.portsnare-${process.pid}-${Date.now()}`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(next.length === 0 ? '' : `${next.join('\n')}\n`);
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
  return true;
}

/** Lines waiting for the next rewrite of a file, and that rewrite's outcome (the lines it added). */
const pendingAdds = new Map<string, { lines: string[]; done: Promise<Set<string>> }>();

/**
 * Adds one line unless it is there. Calls made while a rewrite of the same file runs share the
 * next rewrite (one read, one fsync'd write for all of them), so a burst of blocks does not queue
 * one full rewrite per host.
 */
export async function addHostsDenyLine(path: string, line: string): Promise<HostsDenyOutcome> {
  const added = await queueAdds(path, [line]);
  return added.has(line.trim()) ? 'added' : 'present';
}

/** Adds each line not already present, in one rewrite; resolves to how many were added. */
export async function addHostsDenyLines(path: string, lines: readonly string[]): Promise<number> {
  const added = await queueAdds(path, lines);
  return new Set(lines.map((l) => l.trim()).filter((l) => added.has(l))).size;
}

/** Joins the lines to the file's next rewrite; resolves to the (trimmed) lines that rewrite added. */
function queueAdds(path: string, lines: readonly string[]): Promise<Set<string>> {
  lines.forEach(checkLine);
  let batch = pendingAdds.get(path);
  if (!batch) {
    const queued: string[] = [];
    const done = serialised(path, async () => {
      if (pendingAdds.get(path)?.lines === queued) pendingAdds.delete(path);
      const added = new Set<string>();
      await rewrite(path, (current) => {
        const present = new Set(current.map((l) => l.trim()));
        const missing = queued.filter(
          (l) => !present.has(l.trim()) && !added.has(l.trim()) && added.add(l.trim()),
        );
        return missing.length === 0 ? null : [...current, ...missing];
      });
      return added;
    });
    batch = { lines: queued, done };
    pendingAdds.set(path, batch);
  }
  for (const line of lines) batch.lines.push(line);
  return batch.done;
}

/** Removes every line equal to one of `lines`, in one rewrite; resolves to how many were removed. */
export async function removeHostsDenyLines(path: string, lines: readonly string[]): Promise<number> {
  lines.forEach(checkLine);
  const unwanted = new Set(lines.map((l) => l.trim()));
  let removed = 0;
  await editHostsDeny(path, (current) => {
    const kept = current.filter((l) => !unwanted.has(l.trim()));
    removed = current.length - kept.length;
    return removed === 0 ? null : kept;
  });
  return removed;
}
