/**
 * @module config/read-file
 * Reading an input file (portsentry.conf, the ignore file, /etc/default/portsentry) without ever
 * blocking: the file is opened with O_NONBLOCK (so a FIFO or a device cannot hang the open), its
 * type is checked on the open descriptor (so it cannot be swapped between check and read), and only
 * a regular file of at most `maxBytes` is read. Failures are PortsnareErrors with a clear message.
 * Also the daemon's way to append to a file it writes at run time (history, blocked files): the same
 * open without blocking and the same type check, so a path that became a FIFO after the start is a
 * reported failure, never a hang.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { ErrorCodes, PortsnareError, systemErrorCode } from '../errors.ts';

/** portsentry.conf and the defaults file: far above any real file, far below a memory problem. */
export const MAX_CONFIG_FILE_BYTES = 16 * 1024 * 1024;
/** The ignore file: a few million entries. */
export const MAX_IGNORE_FILE_BYTES = 256 * 1024 * 1024;

/** What a non-regular file is, in words ("a FIFO", "a directory"...). */
export function fileTypeName(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * The UTF-8 text of a regular file. Throws PortsnareError FILE_TYPE (not a regular file),
 * FILE_TOO_LARGE, or the system error of the open/read (ENOENT, EACCES...) unchanged.
 */
export async function readRegularFile(path: string, maxBytes = MAX_CONFIG_FILE_BYTES): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new PortsnareError(
        ErrorCodes.FILE_TYPE,
        `is ${fileTypeName(stats)}, not a regular file; not read`,
      );
    }
    if (stats.size > maxBytes) {
      throw new PortsnareError(
        ErrorCodes.FILE_TOO_LARGE,
        `is ${stats.size} bytes, more than the ${maxBytes} portsnare reads; not read`,
      );
    }
    // Read to the end but at most maxBytes + 1, so a file that grows while read is still caught.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(
        Math.min(Math.max(stats.size - length, 0) + 65536, maxBytes + 1 - length),
      );
      if (chunk.length === 0) break;
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, length);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      length += bytesRead;
    }
    if (length > maxBytes) {
      throw new PortsnareError(
        ErrorCodes.FILE_TOO_LARGE,
        `is more than the ${maxBytes} bytes portsnare reads; not read`,
      );
    }
    return Buffer.concat(chunks, length).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The message for a failed readRegularFile: ours as is, a system error by its code. */
export function readFailure(err: unknown): string {
  if (err instanceof PortsnareError) return err.message;
  const code = systemErrorCode(err);
  return code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? String(err)}`;
}

/**
 * Opens `path` for appending (created with `mode` if missing): O_APPEND|O_NONBLOCK|O_NOCTTY, so a
 * FIFO or a device cannot hang the open (a FIFO without a reader fails with ENXIO at once), and the
 * open descriptor must be a regular file. Throws PortsnareError FILE_TYPE otherwise, or the system
 * error of the open unchanged. O_NONBLOCK changes nothing for a regular file's writes.
 */
export async function openRegularForAppend(path: string, mode: number): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(
      path,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOCTTY,
      mode,
    );
  } catch (err) {
    if (systemErrorCode(err) === 'ENXIO') {
      throw new PortsnareError(
        ErrorCodes.FILE_TYPE,
        `${path} is a FIFO or a device, not a regular file; not written`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new PortsnareError(
        ErrorCodes.FILE_TYPE,
        `${path} is ${fileTypeName(stats)}, not a regular file; not written`,
      );
    }
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}
