/**
 * @module mail/sendmail
 * Delivery through the local sendmail program, as logcheck does: the program is run with an
 * argument vector (never a shell), the message (LF line ends) on its stdin; exit 0 means the MTA
 * took it. Anything else (cannot run, non-zero exit, a signal, the timeout) is a MAIL_SENDMAIL
 * MailDeliveryError carrying the exit status and sendmail's stderr.
 */
import { spawn } from 'node:child_process';
import { MailDeliveryError, MailErrorCodes } from './errors.ts';

/** Kept of sendmail's stderr (and stdout): plenty for an error line, bounded against a runaway. */
const OUTPUT_LIMIT = 64 * 1024;

/**
 * The arguments after the program: the transport's own `args` first (e.g. `-C rcfile` for msmtp),
 * then `-oi` (a line of a single dot does not end the message), `-f from` (envelope sender), `--`
 * and the recipients. sendmail, exim, postfix and msmtp all take this form; `--` keeps any
 * recipient from being read as an option even if the address checks upstream were bypassed.
 */
export function sendmailArgv(
  from: string,
  to: readonly string[],
  extraArgs: readonly string[] = [],
): string[] {
  return [...extraArgs, '-oi', '-f', from, '--', ...to];
}

export interface SendmailRun {
  readonly path: string;
  readonly args: readonly string[];
  readonly message: Buffer;
  /** Kill it (SIGTERM, then SIGKILL 2 s later) if it has not exited by then; default no limit. */
  readonly timeoutMs?: number | undefined;
  readonly env?: NodeJS.ProcessEnv | undefined;
}

function collect(chunks: Buffer[], size: { n: number }, d: Buffer): void {
  if (size.n >= OUTPUT_LIMIT) return;
  chunks.push(d.subarray(0, OUTPUT_LIMIT - size.n));
  size.n += d.length;
}

/** Runs sendmail with the message on stdin; resolves when it exits 0. */
export function runSendmail(run: SendmailRun): Promise<void> {
  const { path, args, message } = run;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const finish = (err: MailDeliveryError | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      if (err === null) resolve();
      else reject(err);
    };
    const child = spawn(path, [...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
      env: run.env ?? process.env,
    });
    const stderr: Buffer[] = [];
    const stdout: Buffer[] = [];
    const errSize = { n: 0 };
    const outSize = { n: 0 };
    child.stderr.on('data', (d: Buffer) => collect(stderr, errSize, d));
    child.stdout.on('data', (d: Buffer) => collect(stdout, outSize, d));
    child.on('error', (err) => {
      finish(
        new MailDeliveryError(MailErrorCodes.SENDMAIL, `cannot run ${path}: ${err.message}`, {
          exitCode: null,
          signal: null,
          stderr: '',
          cause: err,
        }),
      );
    });
    // sendmail may exit before reading all of stdin (a refused argument); its exit status and
    // stderr say more than the EPIPE would. Only an exit 0 without the whole message read (a
    // program that is not a sendmail) is reported by it, as the mail was not handed over.
    let stdinError: Error | undefined;
    child.stdin.on('error', (err) => {
      stdinError ??= err;
    });
    if (run.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), 2000);
      }, run.timeoutMs);
    }
    child.on('close', (code, signal) => {
      if (code === 0 && !timedOut && stdinError === undefined) {
        finish(null);
        return;
      }
      const errText = Buffer.concat(stderr).toString('utf8');
      const why = timedOut
        ? `did not finish within ${String(run.timeoutMs)} ms`
        : signal !== null
          ? `was killed by ${signal}`
          : code === 0
            ? `exited 0 without reading the whole message (${stdinError?.message ?? ''})`
            : `exited with status ${String(code)}`;
      const detail = errText.trim() || Buffer.concat(stdout).toString('utf8').trim();
      finish(
        new MailDeliveryError(MailErrorCodes.SENDMAIL, `${path} ${why}${detail ? `: ${detail}` : ''}`, {
          exitCode: code,
          signal,
          stderr: errText,
        }),
      );
    });
    child.stdin.end(message);
  });
}
