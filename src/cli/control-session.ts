/**
 * @module cli/control-session
 * What `status`, `list`, `block`, `unblock` and `flush` share: the config (found from --config, so
 * the socket is STATE_DIR/portsnare.sock), asking the running daemon, and, when no daemon runs,
 * acting on the ban store and the backends directly. Direct action is refused while a daemon's pid
 * runs (it would be two writers), and the store's own lock refuses a second process anyway.
 */
import { ExitCodes } from '../exit-codes.ts';
import { readFile } from 'node:fs/promises';
import { formatDiagnostic, hasErrors } from '../config/diagnostic.ts';
import type { IgnoreFile } from '../config/ignore-file.ts';
import { loadSettings, type Settings } from '../config/settings.ts';
import { NoDaemonError, sendRequest } from '../control/client.ts';
import type { ControlRequest } from '../control/protocol.ts';
import { statePaths } from '../state/state-dir.ts';
import { assemble } from '../daemon/assemble.ts';
import { NO_BACKEND, resolveBlockBackend } from '../daemon/block-backend.ts';
import { ErrorCodes, PortsnareError, systemErrorCode } from '../errors.ts';
import { createAlertLog } from '../report/alert-log.ts';
import { SyslogWriter } from '../report/syslog.ts';
import type { BanKeeper } from '../respond/ban-keeper.ts';
import type { NftResponder } from '../respond/nft.ts';
import type { BanStore } from '../state/ban-store.ts';
import type { ParsedCommandLine } from './parse.ts';

export interface Session {
  settings: Settings;
  socketPath: string;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/** Reads the config named by --config (or the default); config errors print and give ExitCodes.CONFIG. */
export async function openSession(
  cmd: ParsedCommandLine,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<Session | number> {
  const loaded = await loadSettings(cmd.options['config'] as string | undefined);
  if (hasErrors(loaded.diagnostics)) {
    for (const d of loaded.diagnostics) err.write(`portsnare: ${formatDiagnostic(d)}\n`);
    return ExitCodes.CONFIG;
  }
  const { settings } = loaded;
  return { settings, socketPath: statePaths(settings.stateDir).socket, out, err };
}

/** The daemon's answer, or null when no daemon runs. Other failures (permission, errors) throw. */
export async function askDaemon(session: Session, request: ControlRequest): Promise<unknown> {
  try {
    return await sendRequest(session.socketPath, request);
  } catch (err) {
    if (err instanceof NoDaemonError) return null;
    throw err;
  }
}

/** The pid in STATE_DIR/portsnare.pid if that process runs. */
async function livePid(stateDir: string): Promise<number | null> {
  const pid = Number((await readFile(statePaths(stateDir).pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return systemErrorCode(err) === 'EPERM' ? pid : null;
  }
}

export interface DirectAccess {
  keeper: BanKeeper;
  store: BanStore;
  nft: NftResponder | null;
  close(): Promise<void>;
}

/**
 * `read`: the store only. `lift`: also the backends, without creating our nft table (there is
 * nothing to lift from a table that is not there). `block`: the backends, table created if needed.
 */
export type DirectUse = 'read' | 'lift' | 'block';

/** Direct action needs no never-block list of its own (`block` checks addresses before). */
const NO_IGNORE_FILE: IgnoreFile = { path: '', entries: [], diagnostics: [] };

/**
 * Opens the ban store (and, unless `read`, the blocking backends as BLOCK_BACKEND says) for direct
 * action, assembled as the daemon's stack is; lifted and added bans are logged to syslog as the
 * daemon would.
 */
export async function openDirect(session: Session, use: DirectUse): Promise<DirectAccess> {
  const { settings } = session;
  const pid = await livePid(settings.stateDir);
  if (pid !== null) {
    throw new PortsnareError(
      ErrorCodes.NOT_ANSWERING,
      `the daemon (pid ${pid}) runs but does not answer on ${session.socketPath}; try again, or restart it`,
    );
  }
  const log = createAlertLog({
    ident: settings.syslogIdent,
    syslog: new SyslogWriter(settings.syslogSocket),
  });
  const stack = assemble({
    modes: [],
    settings,
    ignore: NO_IGNORE_FILE,
    reporter: log,
    records: 'none',
    hosts: { addresses: () => [], guarded: () => [] },
    backend: (s) =>
      use === 'read' ? Promise.resolve(NO_BACKEND) : resolveBlockBackend(s.blockBackend, use === 'lift'),
  });
  const { keeper, store } = await stack.bans.open();
  return {
    keeper,
    store,
    nft: stack.bans.backend.table,
    async close() {
      await stack.bans.close();
      log.close();
    },
  };
}

/** Prints a failure the way every command does; returns ExitCodes.FAILURE, USAGE or NO_PERMISSION. */
export function reportFailure(session: Pick<Session, 'err'>, err: unknown): number {
  const text = err instanceof Error ? err.message : String(err);
  session.err.write(`portsnare: ${text}\n`);
  if (err instanceof PortsnareError && err.code === ErrorCodes.USAGE) return ExitCodes.USAGE;
  if (err instanceof PortsnareError && err.code === ErrorCodes.PERMISSION) return ExitCodes.NO_PERMISSION;
  const cause = err instanceof Error ? err.cause : undefined;
  if (['EACCES', 'EPERM'].includes(systemErrorCode(err) ?? systemErrorCode(cause) ?? ''))
    return ExitCodes.NO_PERMISSION;
  return ExitCodes.FAILURE;
}

/**
 * The frame of every control command: read the config (its errors exit 78), run the body, and turn a
 * thrown failure into its message and exit status.
 */
export async function runControlCommand(
  cmd: ParsedCommandLine,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
  body: (session: Session) => Promise<number>,
): Promise<number> {
  const session = await openSession(cmd, out, err);
  if (typeof session === 'number') return session;
  try {
    return await body(session);
  } catch (e) {
    return reportFailure(session, e);
  }
}
