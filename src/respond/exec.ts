/**
 * @module respond/exec
 * Runs one argument vector without a shell and says plainly whether it worked. A missing program,
 * a non-zero exit, a signal or a timeout is a failure with a reason; only exit status 0 is success.
 */
import { execFile } from 'node:child_process';

export interface CommandResult {
  ok: boolean;
  /** Why it failed, one line, for the log. */
  reason?: string;
}

export type CommandRunner = (argv: readonly string[]) => Promise<CommandResult>;

export const COMMAND_TIMEOUT_MS = 30_000;

export function runCommand(argv: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) return Promise.resolve({ ok: false, reason: 'empty command' });
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { shell: false, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, windowsHide: true },
      (err, _stdout, stderr) => {
        if (!err) return resolve({ ok: true });
        const detail = String(stderr).trim().split('\n')[0] ?? '';
        const code = (err as NodeJS.ErrnoException).code;
        const e = err as { killed?: boolean; signal?: string | null; code?: number | string };
        let reason: string;
        if (code === 'ENOENT') reason = `program not found: ${file}`;
        else if (code === 'EACCES') reason = `permission denied running ${file}`;
        else if (e.killed && e.signal === 'SIGKILL') reason = `timed out after ${timeoutMs / 1000} s`;
        else if (e.signal) reason = `killed by ${e.signal}`;
        else if (typeof e.code === 'number') reason = `exited with status ${e.code}`;
        else reason = err.message.split('\n')[0] ?? 'failed';
        resolve({ ok: false, reason: detail ? `${reason}: ${detail}` : reason });
      },
    );
  });
}
