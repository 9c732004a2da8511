/**
 * @module cli/control-session
 * What `status`, `list`, `block`, `unblock` and `flush` share: the config (found from --config, so
 * the socket is STATE_DIR/portsnare.sock), asking the running daemon, and, when no daemon runs,
 * acting on the ban store and the backends directly. Direct action is refused while a daemon's pid
 * runs (it would be two writers), and the store's own lock refuses a second process anyway.
 */
import { ExitCodes, type ExitCode } from '../exit-codes.ts';
import { readFile } from 'node:fs/promises';
import { formatDiagnostic, hasErrors } from '../config/diagnostic.ts';
import { parseIgnoreText, type IgnoreFile } from '../config/ignore-file.ts';
import type { Settings } from '../config/settings.ts';
import { loadSettingsFile } from '../config/load-settings.ts';
import { NoDaemonError, ask } from '../control/client.ts';
import type { ControlRequest, ControlResults } from '../control/protocol.ts';
import { statePaths } from '../state/state-dir.ts';
import { checkStateDirTrust, formatTrustProblems } from '../state/dir-trust.ts';
import { assemble } from '../daemon/assemble.ts';
import { rootPeerCheck } from '../daemon/peer-check.ts';
import { NO_BACKEND, resolveBlockBackend } from '../daemon/block-backend.ts';
import { ErrorCodes, PortsnareError, systemErrorCode } from '../errors.ts';
import { createAlertLog } from '../report/alert-log.ts';
import { SyslogWriter } from '../report/syslog.ts';
import type { BanKeeper } from '../respond/ban-keeper.ts';
import type { NftResponder } from '../respond/nft.ts';
import type { BanStore } from '../state/ban-store.ts';

export interface Session {
  settings: Settings;
  socketPath: string;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/** Reads the config named by --config (or the default); config errors print and give ExitCodes.CONFIG. */
export async function openSession(
  configPath: string | undefined,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<Session | ExitCode> {
  const loaded = await loadSettingsFile(configPath);
  if (hasErrors(loaded.diagnostics)) {
    for (const d of loaded.diagnostics) err.write(`portsnare: ${formatDiagnostic(d)}\n`);
    return ExitCodes.CONFIG;
  }
  const { settings } = loaded;
  return { settings, socketPath: statePaths(settings.stateDir).socket, out, err };
}

/**
 * The daemon's answer, checked against the command's reply type, or null when no daemon runs.
 * Other failures (permission, errors, a malformed reply) throw.
 */
export async function askDaemon<R extends ControlRequest>(
  session: Session,
  request: R,
): Promise<ControlResults[R['command']] | null> {
  // A STATE_DIR another user can write to may hold their socket: refuse before asking anything.
  const problems = checkStateDirTrust(session.settings.stateDir);
  // A user who may not even look into STATE_DIR may not use the daemon either: that is "not allowed".
  if (problems.some((p) => p.errno === 'EACCES' || p.errno === 'EPERM')) {
    throw new PortsnareError(
      ErrorCodes.PERMISSION,
      `${session.settings.stateDir}: permission denied: only root can control portsnare`,
    );
  }
  if (problems.length > 0) {
    throw new PortsnareError(
      ErrorCodes.UNSAFE_PATH,
      `STATE_DIR cannot be trusted: ${formatTrustProblems(problems).join('; ')}`,
    );
  }
  try {
    return await ask(session.socketPath, request, { verifyPeer: rootPeerCheck() });
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
const NO_IGNORE_FILE: IgnoreFile = parseIgnoreText('', '');

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
export function reportFailure(session: Pick<Session, 'err'>, err: unknown): ExitCode {
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
  configPath: string | undefined,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
  body: (session: Session) => Promise<ExitCode>,
): Promise<ExitCode> {
  const session = await openSession(configPath, out, err);
  if (typeof session === 'number') return session;
  try {
    return await body(session);
  } catch (e) {
    return reportFailure(session, e);
  }
}
