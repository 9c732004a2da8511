/**
 * @module report/sinks/blocked-files-sink
 * The blocked file of each running mode (BLOCKED_FILE.tcp, ...): emptied at open as 1.2 does (the
 * start fails with 1.2's line if it cannot be), a line appended for every block of that mode, lines
 * removed when hosts are no longer blocked. Also answers whether a host has a line in any of them
 * (1.2's "already blocked" test, which honours lines deleted by hand). Write failures are logged.
 */
import type { Mode } from '../../detect/probe.ts';
import { describeError, ErrorCodes, PortsnareError } from '../../errors.ts';
import { BlockedFile } from '../history.ts';
import type { AlertLog, BlockRecord, Sink } from '../reporter.ts';

/** What the alert path asks of the blocked files (real ones, or a dry run's). */
export interface BlockedLedger {
  has(address: string): Promise<boolean>;
}

export class BlockedFilesSink implements Sink, BlockedLedger {
  readonly #files = new Map<Mode, BlockedFile>();
  readonly #log: AlertLog;

  constructor(paths: ReadonlyMap<Mode, string>, log: AlertLog) {
    for (const [mode, path] of paths) this.#files.set(mode, new BlockedFile(path));
    this.#log = log;
  }

  async open(): Promise<void> {
    for (const file of this.#files.values()) {
      try {
        await file.reset();
      } catch {
        this.#log.log({ kind: 'blockedFileDeleteFailed', path: file.path });
        throw new PortsnareError(ErrorCodes.FILE, `cannot create or empty ${file.path}`);
      }
    }
  }

  async has(address: string): Promise<boolean> {
    for (const file of this.#files.values()) {
      if (await file.has(address)) return true;
    }
    return false;
  }

  async blocked(record: BlockRecord): Promise<void> {
    const file = this.#files.get(record.mode);
    if (file) await this.#write(file.path, () => file.append(record.line, record.address));
  }

  async lifted(addresses: readonly string[]): Promise<void> {
    for (const file of this.#files.values()) await this.#write(file.path, () => file.remove(addresses));
  }

  async #write(path: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      this.#log.log({ kind: 'fileWriteFailed', path, reason: describeError(err) });
    }
  }
}
