/**
 * @module respond/nft/runner
 * How nft is run: in this process through libnftables (the native addon), or as a program: an
 * argument vector on the project's process runner (respond/exec), stdin fed and closed, SIGKILL
 * after NFT_TIMEOUT_MS; FirewallError for a run that failed. Not what is run (respond/nft/script)
 * nor how its output is read (respond/nft/parser).
 */
import { ErrorCodes, PortsnareError } from '../../errors.ts';
import { loadNative } from '../../native.ts';
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

/** What `nft [-c] [-j] (-f - | words...)` asks, for libnftables; null for anything else. */
export function libnftRequest(
  argv: readonly string[],
  input?: string,
): { json: boolean; dryRun: boolean; commands: string } | null {
  let json = false;
  let dryRun = false;
  let i = 1;
  for (; i < argv.length && argv[i]!.startsWith('-'); i++) {
    const flag = argv[i];
    if (flag === '-j') json = true;
    else if (flag === '-c') dryRun = true;
    else if (flag === '-f' && argv[i + 1] === '-' && i + 2 === argv.length && input !== undefined) {
      return { json, dryRun, commands: input };
    } else return null;
  }
  if (i === argv.length || input !== undefined) return null;
  return { json, dryRun, commands: argv.slice(i).join(' ') };
}

/**
 * The NftRun through libnftables, in this process: the same commands, exit status (0 or 1) and
 * texts as the nft program (its front end to the same library), without a process per ban (about
 * 16 ms at idle and 45 ms under a 100 kpps flood, bench Part 2). Anything else it is asked goes to
 * `fallback`.
 */
export function libnftRun(fallback: NftRun = (argv, input) => spawnRun(argv, input)): NftRun {
  return async (argv, input) => {
    const request = libnftRequest(argv, input);
    if (!request) return fallback(argv, input);
    try {
      return await loadNative().nftRun(request.json, request.dryRun, request.commands);
    } catch (err) {
      throw new FirewallError(argv.join(' '), null, (err as Error).message, input, { cause: err });
    }
  };
}

/** Why libnftables cannot be used here (null: it can). */
export function libnftUnavailable(): string | null {
  try {
    return loadNative().nftAvailable();
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The runner for an nft of path `nft`: libnftables in this process when that path is the plain
 * `nft` and the library opens (the same library the program would load), else the program.
 */
export function defaultNftRun(nft: string): NftRun {
  return nft === 'nft' && libnftUnavailable() === null ? libnftRun() : (argv, input) => spawnRun(argv, input);
}
