/**
 * @module report/history
 * PortSentry 1.2's history and blocked files. One line format for both, kept byte for byte because
 * fail2ban's stock portsentry filter (`/<HOST> Port: N (TCP|UDP) Blocked$`, epoch date) reads it:
 *   `1795396579 - 11/23/2026 01:16:19 Host: 10.231.0.2/10.231.0.2 Port: 1 TCP Blocked`
 * The blocked file of a mode is emptied at start as in 1.2, and re-read when someone edits it, so
 * deleting a host's line by hand re-arms blocking for it (documented 1.2 behaviour).
 * Every open is non-blocking and checks for a regular file (config/read-file), so a path that became
 * a FIFO (or a device) after the start fails an append at once instead of hanging the daemon; a
 * blocked file that is no regular file reads as holding no lines.
 */
import { mkdir, rename, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Protocol } from '../detect/probe.ts';
import { MAX_IGNORE_FILE_BYTES, openRegularForAppend, readRegularFile } from '../config/read-file.ts';
import { ErrorCodes, PortsnareError, systemErrorCode } from '../errors.ts';

/** A blocked file is read whole: far above a million lines (about 90 MB). */
const MAX_BLOCKED_FILE_BYTES = MAX_IGNORE_FILE_BYTES;

const pad2 = (n: number) => String(n).padStart(2, '0');

export interface HistoryRecord {
  time: Date;
  host: string;
  address: string;
  port: number;
  protocol: Protocol;
}

export function formatHistoryLine(r: HistoryRecord): string {
  const t = r.time;
  const epoch = Math.floor(t.getTime() / 1000);
  const date = `${pad2(t.getMonth() + 1)}/${pad2(t.getDate())}/${t.getFullYear()}`;
  const clock = `${pad2(t.getHours())}:${pad2(t.getMinutes())}:${pad2(t.getSeconds())}`;
  return `${epoch} - ${date} ${clock} Host: ${r.host}/${r.address} Port: ${r.port} ${r.protocol.toUpperCase()} Blocked`;
}

/** The address of a history/blocked line, or null for a line of another shape. */
export function addressOfHistoryLine(line: string): string | null {
  return /^\d+ - \S+ \S+ Host: \S*\/(\S+) Port: \d+ (?:TCP|UDP) Blocked$/.exec(line)?.[1] ?? null;
}

/**
 * Appends one line and waits until it is on disk; `mode` applies when the file is created. A path
 * that is not a regular file is PortsnareError FILE_TYPE, at once.
 */
export async function appendLine(path: string, line: string, mode: number): Promise<void> {
  const handle = await openRegularForAppend(path, mode);
  try {
    await handle.write(`${line}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function ensureParentDirectory(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
}

/** A mode's blocked file: emptied at start, appended on each block, re-read after outside edits. */
export class BlockedFile {
  readonly path: string;
  #addresses = new Set<string>();
  #signature = '';

  constructor(path: string) {
    this.path = path;
  }

  /** Creates or empties the file (1.2 does this at every start). */
  async reset(): Promise<void> {
    await ensureParentDirectory(this.path);
    try {
      await truncate(this.path, 0);
    } catch (err) {
      if (systemErrorCode(err) !== 'ENOENT') throw err;
      await writeFile(this.path, '', { mode: 0o644 });
    }
    this.#addresses.clear();
    this.#signature = await this.#currentSignature();
  }

  async #currentSignature(): Promise<string> {
    try {
      const s = await stat(this.path);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }

  /** Whether the address has a line in the file, re-reading the file if it changed on disk. */
  async has(address: string): Promise<boolean> {
    const signature = await this.#currentSignature();
    if (signature !== this.#signature) {
      this.#signature = signature;
      this.#addresses = new Set();
      if (signature !== 'missing') {
        for (const line of (await readBlocked(this.path)).split('\n')) {
          const found = addressOfHistoryLine(line);
          if (found) this.#addresses.add(found);
        }
      }
    }
    return this.#addresses.has(address);
  }

  /** Removes the lines of these addresses (an unblocked host is no longer "already blocked"). */
  async remove(addresses: readonly string[]): Promise<void> {
    const unwanted = new Set(addresses);
    if (!(await Promise.all(addresses.map((a) => this.has(a)))).some(Boolean)) return;
    const text = await readBlocked(this.path);
    const kept = text.split('\n').filter((line) => {
      const found = addressOfHistoryLine(line);
      return found === null || !unwanted.has(found);
    });
    const temp = `${this.path}.portsnare-${process.pid}`;
    await writeFile(temp, kept.join('\n'), { mode: 0o644 });
    await rename(temp, this.path);
    for (const a of addresses) this.#addresses.delete(a);
    this.#signature = await this.#currentSignature();
  }

  async append(line: string, address: string): Promise<void> {
    await appendLine(this.path, line, 0o644);
    this.#addresses.add(address);
    this.#signature = await this.#currentSignature();
  }
}

/** A blocked file's text; one that is not a regular file (a FIFO...) holds no lines. */
async function readBlocked(path: string): Promise<string> {
  try {
    return await readRegularFile(path, MAX_BLOCKED_FILE_BYTES);
  } catch (err) {
    if (err instanceof PortsnareError && err.code === ErrorCodes.FILE_TYPE) return '';
    throw err;
  }
}
