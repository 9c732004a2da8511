/**
 * @module respond/exec
 * The project's one process runner: runs an argument vector without a shell, with optional text on
 * stdin, a timeout (SIGKILL) and an optional output cap, and says what happened (exited, signalled,
 * timed out, could not run). runCommand() on top of it says plainly whether a KILL_* command worked:
 * a missing program, a non-zero exit, a signal or a timeout is a failure with a reason; only exit
 * status 0 is success. nft's runner (respond/nft/runner) is the other user.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  ok: boolean;
  /** Why it failed, one line, for the log. */
  reason?: string;
}

export type CommandRunner = (argv: readonly string[]) => Promise<CommandResult>;

export const COMMAND_TIMEOUT_MS = 30_000;
/** Output runCommand() keeps of a command (stdout or stderr); more kills it. */
export const COMMAND_MAX_BUFFER = 64 * 1024;

export interface ProcessOptions {
  timeoutMs: number;
  /** Written to stdin, which is then closed. Without it stdin is `stdin` (default: a pipe left open). */
  input?: string;
  stdin?: 'ignore' | 'pipe';
  /** Most bytes of stdout or of stderr to keep; more kills the process. Default: no limit. */
  maxBuffer?: number;
}

interface Output {
  stdout: string;
  stderr: string;
}

export type ProcessOutcome =
  | ({ kind: 'exited'; code: number } & Output)
  | ({ kind: 'signalled'; signal: string } & Output)
  | ({ kind: 'timedOut' } & Output)
  /** Could not run (ENOENT, EACCES...), or its output passed maxBuffer. */
  | ({ kind: 'error'; error: Error } & Output);

/** Runs `argv` (program first, non-empty). Never rejects: every outcome is a value. */
export function runProcess(argv: readonly string[], opts: ProcessOptions): Promise<ProcessOutcome> {
  const [file = '', ...args] = argv;
  return new Promise((resolve) => {
    const stdin = opts.input === undefined ? (opts.stdin ?? 'pipe') : 'pipe';
    const child = spawn(file, args, { shell: false, windowsHide: true, stdio: [stdin, 'pipe', 'pipe'] });
    const out: Output = { stdout: '', stderr: '' };
    let settled = false;
    const finish = (outcome: ProcessOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ kind: 'timedOut', ...out });
    }, opts.timeoutMs);
    const collect = (key: keyof Output) => (data: string) => {
      out[key] += data;
      if (opts.maxBuffer !== undefined && out[key].length > opts.maxBuffer) {
        child.kill('SIGKILL');
        finish({ kind: 'error', error: new RangeError(`${key} maxBuffer length exceeded`), ...out });
      }
    };
    child.stdout?.setEncoding('utf8').on('data', collect('stdout'));
    child.stderr?.setEncoding('utf8').on('data', collect('stderr'));
    if (opts.input !== undefined) {
      child.stdin?.on('error', () => {}); // EPIPE when it exits without reading; its stderr says why
      child.stdin?.end(opts.input);
    }
    child.once('error', (error) => finish({ kind: 'error', error, ...out }));
    child.once('close', (code, signal) => {
      if (code === null) finish({ kind: 'signalled', signal: signal ?? 'a signal', ...out });
      else finish({ kind: 'exited', code, ...out });
    });
  });
}

export async function runCommand(
  argv: readonly string[],
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<CommandResult> {
  const [file] = argv;
  if (!file) return { ok: false, reason: 'empty command' };
  const outcome = await runProcess(argv, { timeoutMs, maxBuffer: COMMAND_MAX_BUFFER });
  if (outcome.kind === 'exited' && outcome.code === 0) return { ok: true };
  let reason: string;
  if (outcome.kind === 'error') {
    const code = (outcome.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') reason = `program not found: ${file}`;
    else if (code === 'EACCES') reason = `permission denied running ${file}`;
    else reason = outcome.error.message.split('\n')[0] ?? 'failed';
  } else if (outcome.kind === 'timedOut') reason = `timed out after ${timeoutMs / 1000} s`;
  else if (outcome.kind === 'signalled') reason = `killed by ${outcome.signal}`;
  else reason = `exited with status ${outcome.code}`;
  const detail = outcome.stderr.trim().split('\n')[0] ?? '';
  return { ok: false, reason: detail ? `${reason}: ${detail}` : reason };
}
