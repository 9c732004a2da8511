/**
 * @module respond/exec
 * The project's one process runner: runs an argument vector without a shell, with optional text on
 * stdin, a timeout (SIGKILL) and an optional bound on the output kept (it is always read to the end,
 * so a chatty command never blocks on a full pipe and is never killed for talking), and says what happened (exited, signalled,
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
/** Output runCommand() keeps of a command (the last characters of stdout and of stderr); the rest is drained. */
export const COMMAND_MAX_BUFFER = 64 * 1024;

export interface ProcessOptions {
  timeoutMs: number;
  /** Written to stdin, which is then closed. Without it stdin is `stdin` (default: a pipe left open). */
  input?: string;
  stdin?: 'ignore' | 'pipe';
  /**
   * Most characters of stdout and of stderr to keep: past it only the last `maxBuffer` are kept (a
   * bounded tail) and the rest is read and dropped; never a failure. Default: no limit.
   */
  maxBuffer?: number;
}

interface Output {
  stdout: string;
  stderr: string;
  /** Characters read and dropped before the kept tail (0: the whole output is kept). */
  stdoutDropped?: number;
  stderrDropped?: number;
}

export type ProcessOutcome =
  | ({ kind: 'exited'; code: number } & Output)
  | ({ kind: 'signalled'; signal: string } & Output)
  | ({ kind: 'timedOut' } & Output)
  /** Could not run (ENOENT, EACCES...). */
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
      finish({ kind: 'timedOut', ...tail() });
    }, opts.timeoutMs);
    const max = opts.maxBuffer;
    const collect = (key: 'stdout' | 'stderr') => (data: string) => {
      out[key] += data;
      // Cut back only once twice the bound is held, so a long stream costs linear time.
      if (max !== undefined && out[key].length > 2 * max) {
        const dropped = out[key].length - max;
        out[key] = out[key].slice(dropped);
        const counter = key === 'stdout' ? 'stdoutDropped' : 'stderrDropped';
        out[counter] = (out[counter] ?? 0) + dropped;
      }
    };
    const tail = (): Output => {
      if (max === undefined) return { ...out };
      const cut = (key: 'stdout' | 'stderr', counter: 'stdoutDropped' | 'stderrDropped') => {
        const over = Math.max(0, out[key].length - max);
        return { text: out[key].slice(over), dropped: (out[counter] ?? 0) + over };
      };
      const o = cut('stdout', 'stdoutDropped');
      const e = cut('stderr', 'stderrDropped');
      return {
        stdout: o.text,
        stderr: e.text,
        ...(o.dropped > 0 && { stdoutDropped: o.dropped }),
        ...(e.dropped > 0 && { stderrDropped: e.dropped }),
      };
    };
    child.stdout?.setEncoding('utf8').on('data', collect('stdout'));
    child.stderr?.setEncoding('utf8').on('data', collect('stderr'));
    if (opts.input !== undefined) {
      child.stdin?.on('error', () => {}); // EPIPE when it exits without reading; its stderr says why
      child.stdin?.end(opts.input);
    }
    child.once('error', (error) => finish({ kind: 'error', error, ...tail() }));
    child.once('close', (code, signal) => {
      if (code === null) finish({ kind: 'signalled', signal: signal ?? 'a signal', ...tail() });
      else finish({ kind: 'exited', code, ...tail() });
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
  return { ok: false, reason: withDetail(reason, outcome) };
}

/**
 * The reason with the first line of stderr, as always; when stderr was longer than the tail kept,
 * its last line instead (the first kept line may be cut), marked as the end of a longer output.
 */
function withDetail(reason: string, outcome: Output): string {
  const lines = outcome.stderr.trim().split('\n');
  if (!outcome.stderrDropped) {
    const first = lines[0] ?? '';
    return first ? `${reason}: ${first}` : reason;
  }
  const last = (lines[lines.length - 1] ?? '').slice(-200);
  return `${reason}: ...${last} (last line of ${outcome.stderrDropped + outcome.stderr.length} characters on stderr)`;
}
