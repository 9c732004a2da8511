/**
 * @module report/sinks/history-file-sink
 * HISTORY_FILE: every block appended as 1.2's history line (report/history), on disk before the
 * response is considered recorded. At open its directory is made; failing that, the start fails with
 * 1.2's line. A failed append is logged and does not stop the daemon. At a start after a crash it
 * writes the lines a crash kept from being written (report/history-repair), once.
 */
import { describeError, ErrorCodes, PortsnareError } from '../../errors.ts';
import { appendLine, ensureParentDirectory } from '../history.ts';
import { bansWithoutHistoryLine, repairedHistoryLine, type StoredBan } from '../history-repair.ts';
import type { AlertLog, BlockRecord, Sink } from '../reporter.ts';

const HISTORY_MODE = 0o600;

export class HistoryFileSink implements Sink {
  readonly path: string;
  readonly #log: AlertLog;

  constructor(path: string, log: AlertLog) {
    this.path = path;
    this.#log = log;
  }

  async open(): Promise<void> {
    try {
      await ensureParentDirectory(this.path);
    } catch {
      this.#log.log({ kind: 'historyFileOpenFailed', path: this.path });
      throw new PortsnareError(ErrorCodes.FILE, `cannot create the directory of ${this.path}`);
    }
  }

  async blocked(record: BlockRecord): Promise<void> {
    try {
      await appendLine(this.path, record.line, HISTORY_MODE);
    } catch (err) {
      this.#log.log({ kind: 'fileWriteFailed', path: this.path, reason: describeError(err) });
    }
  }

  /**
   * Given the bans a crash cut off mid-response: writes the history line of each one whose line is
   * not in the file (in one append), says so, and returns how many. A failure is logged.
   */
  async repair(bans: readonly StoredBan[]): Promise<number> {
    try {
      const missing = await bansWithoutHistoryLine(this.path, bans);
      if (missing.length === 0) return 0;
      const sorted = [...missing].sort((a, b) => a.since - b.since);
      await appendLine(this.path, sorted.map(repairedHistoryLine).join('\n'), HISTORY_MODE);
      this.#log.log({ kind: 'historyRepaired', count: missing.length, path: this.path });
      return missing.length;
    } catch (err) {
      this.#log.log({ kind: 'fileWriteFailed', path: this.path, reason: describeError(err) });
      return 0;
    }
  }
}
