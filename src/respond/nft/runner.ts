/**
 * @module respond/nft/runner
 * How nft is run: an argument vector on the project's process runner (respond/exec), stdin fed and
 * closed, SIGKILL after NFT_TIMEOUT_MS, and FirewallError for a run that failed. Not what is run
 * (respond/nft/script) nor how its output is read (respond/nft/parser).
 */
import { ErrorCodes, PortsnareError } from '../../errors.ts';
import { runProcess } from '../exec.ts';

export interface NftRunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `argv` (program first) with `input` on stdin. Resolves with any exit code; rejects only if it could not run. */
export type NftRun = (argv: string[], input?: string) => Promise<NftRunResult>;

export const NFT_TIMEOUT_MS = 10_000;

/** nft could not be run, timed out, or exited non-zero. */
export class FirewallError extends PortsnareError {
  readonly backend = 'nftables';
  /** The argument vector, joined with spaces (`nft -f -`). */
  readonly command: string;
  /** nft's exit status; null if it could not be run or was killed. */
  readonly exitCode: number | null;
  /** nft's stderr verbatim (`Error: <reason>\n<statement>\n<carets>`), or why it could not run. */
  readonly stderr: string;
  /** The batch that was on stdin, if any. */
  readonly input: string | undefined;

  constructor(
    command: string,
    exitCode: number | null,
    stderr: string,
    input?: string,
    options?: { cause?: unknown },
  ) {
    const status = exitCode === null ? 'could not run' : `exit ${exitCode}`;
    super(ErrorCodes.COMMAND_FAILED, `${command}: ${status}: ${stderr.trim() || 'no error text'}`, options);
    this.name = 'FirewallError';
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
    this.input = input;
  }
}

/** The default NftRun: no shell, stdin fed and closed (or none), SIGKILL after `timeoutMs`. */
export async function spawnRun(
  argv: string[],
  input?: string,
  timeoutMs = NFT_TIMEOUT_MS,
): Promise<NftRunResult> {
  const command = argv.join(' ');
  if (!argv[0]) throw new FirewallError(command, null, 'empty command', input);
  const outcome = await runProcess(argv, {
    timeoutMs,
    stdin: 'ignore',
    ...(input !== undefined && { input }),
  });
  switch (outcome.kind) {
    case 'exited':
      return { code: outcome.code, stdout: outcome.stdout, stderr: outcome.stderr };
    case 'timedOut':
      throw new FirewallError(command, null, `timed out after ${timeoutMs} ms`, input);
    case 'signalled':
      throw new FirewallError(command, null, `killed by ${outcome.signal}`, input);
    case 'error':
      throw new FirewallError(command, null, outcome.error.message, input, { cause: outcome.error });
  }
}
