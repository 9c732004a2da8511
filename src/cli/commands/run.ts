/**
 * @module cli/commands/run
 * `portsnare [-tcp] [-udp]`: checks the whole configuration first (any error: exit 78 before anything
 * is bound or blocked), then either stays attached (--foreground) or starts a detached copy of itself
 * and exits 0 once that copy reports it is listening, or non-zero with its reason if it could not.
 */
import { ExitCodes, type ExitCode } from '../../exit-codes.ts';
import { spawn } from 'node:child_process';
import type { Mode } from '../../detect/probe.ts';
import { diagnosticWhere, formatDiagnostic, hasErrors } from '../../config/diagnostic.ts';
import { loadStartupConfig, type StartupConfig } from '../../config/startup-config.ts';
import { assemble } from '../../daemon/assemble.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { describeError } from '../../errors.ts';
import { createAlertLog } from '../../report/alert-log.ts';
import { logDiagnostics } from '../../report/config-problems.ts';
import type { Reporter } from '../../report/reporter.ts';
import { SyslogWriter } from '../../report/syslog.ts';
import { loadIgnoreFile } from '../../config/ignore-file.ts';
import { loadSettingsFile } from '../../config/load-settings.ts';
import { defineCommand } from '../command.ts';
import { exitCodeOf } from '../exit-status.ts';
import { CONFIG, DEFAULTS_FILE, HELP } from '../options.ts';

const DAEMON_CHILD_ENV = 'PORTSNARE_DAEMON_CHILD';

type ChildReport = { ready: true } | { error: string; code: number };

interface RunOptions {
  modes: Mode[];
  configPath: string | undefined;
  defaultsPath: string | undefined;
  foreground: boolean;
}

export const run = defineCommand({
  name: 'run',
  description: 'Run the daemon (the default command)',
  takesModes: true,
  options: {
    config: CONFIG,
    'defaults-file': DEFAULTS_FILE,
    foreground: {
      short: 'f',
      type: 'boolean',
      description: 'Stay attached; log lines also go to stderr',
    },
    version: { short: 'V', type: 'boolean', description: 'Print the version and exit' },
    help: HELP,
  },
  exec: ({ modes, options }) =>
    runCommandLine({
      modes,
      configPath: options.config,
      defaultsPath: options['defaults-file'],
      foreground: options.foreground === true,
    }),
});

/**
 * Holds SIGHUPs that come before the daemon listens: Node's default for SIGHUP is to exit, so a
 * reload sent during a slow start (a big ban store, many ports) used to kill the daemon. One held
 * SIGHUP is a reload once the daemon is up.
 */
function holdSighup(): { wanted: () => boolean; release: () => void } {
  let wanted = false;
  const hold = () => {
    wanted = true;
  };
  process.on('SIGHUP', hold);
  return { wanted: () => wanted, release: () => process.off('SIGHUP', hold) };
}

async function runCommandLine(cmd: RunOptions): Promise<ExitCode> {
  const isChild = process.env[DAEMON_CHILD_ENV] === '1';
  const { foreground } = cmd;
  if (foreground || isChild) return runDaemonCommand(cmd, isChild, holdSighup());
  return runDaemonCommand(cmd, isChild, null);
}

async function runDaemonCommand(
  cmd: RunOptions,
  isChild: boolean,
  sighup: ReturnType<typeof holdSighup> | null,
): Promise<ExitCode> {
  try {
    return await startAndServe(cmd, isChild, sighup);
  } finally {
    sighup?.release();
  }
}

async function startAndServe(
  cmd: RunOptions,
  isChild: boolean,
  sighup: ReturnType<typeof holdSighup> | null,
): Promise<ExitCode> {
  const { foreground } = cmd;
  const startup = await loadStartupConfig({
    modes: cmd.modes,
    configPath: cmd.configPath,
    defaultsPath: cmd.defaultsPath,
  });
  if (!isChild)
    for (const d of startup.diagnostics) process.stderr.write(`portsnare: ${formatDiagnostic(d)}\n`);
  if (hasErrors(startup.diagnostics)) {
    const log = openLog(startup, null);
    log.log({ kind: 'starting', version: '1.2' });
    logDiagnostics(log, startup.diagnostics);
    log.log({ kind: 'shuttingDownSecurity' });
    log.log({ kind: 'shuttingDownAdmin' });
    log.close();
    const errors = startup.diagnostics.filter((d) => d.severity === 'error');
    report(isChild, {
      error: errors.map((d) => `${diagnosticWhere(d)}: ${d.message}`).join('\n'),
      code: ExitCodes.CONFIG,
    });
    return ExitCodes.CONFIG;
  }
  if (!foreground && !isChild) return daemonize();
  return runDaemon(startup, foreground && !isChild, isChild, sighup?.wanted ?? (() => false));
}

function openLog(startup: StartupConfig, mirror: NodeJS.WritableStream | null): Reporter {
  const { settings } = startup.loaded;
  return createAlertLog({
    ident: settings.syslogIdent,
    syslog: new SyslogWriter(settings.syslogSocket),
    mirror,
  });
}

function report(isChild: boolean, message: ChildReport): void {
  if (isChild && process.send) process.send(message);
}

async function runDaemon(
  startup: StartupConfig,
  mirror: boolean,
  isChild: boolean,
  reloadHeld: () => boolean,
): Promise<ExitCode> {
  process.umask(0o022);
  const log = openLog(startup, mirror ? process.stderr : null);
  const stack = assemble({
    modes: startup.modes,
    settings: startup.loaded.settings,
    ignore: startup.ignore,
    reporter: log,
  });
  const daemon = new Daemon(stack, {
    reload: async () => {
      const loaded = await loadSettingsFile(startup.loaded.path ?? undefined);
      return { loaded, ignore: await loadIgnoreFile(loaded.settings.ignoreFile) };
    },
  });
  logDiagnostics(log, startup.diagnostics);
  try {
    await daemon.start();
  } catch (err) {
    await daemon.stop();
    log.close();
    report(isChild, { error: describeError(err), code: ExitCodes.FAILURE });
    if (!isChild) process.stderr.write(`portsnare: ${describeError(err)}\n`);
    return ExitCodes.FAILURE;
  }
  report(isChild, { ready: true });
  if (isChild) process.disconnect?.();

  return new Promise<ExitCode>((resolve) => {
    let stopping = false;
    const stop = (code: ExitCode) => {
      if (stopping) return;
      stopping = true;
      void daemon.stop().finally(() => {
        log.close();
        resolve(code);
      });
    };
    process.on('SIGTERM', () => stop(ExitCodes.OK));
    process.on('SIGINT', () => stop(ExitCodes.OK));
    process.on('SIGHUP', () => void daemon.reload());
    if (reloadHeld()) void daemon.reload();
    process.on('SIGUSR1', () => daemon.logCounters());
    process.on('SIGPIPE', () => undefined);
    let crashed = false;
    process.on('uncaughtException', (err) => {
      // Once: an error raised while reporting an error must not loop.
      if (crashed) process.exit(ExitCodes.FAILURE);
      crashed = true;
      log.log({ kind: 'internalError', reason: describeError(err) });
      stop(ExitCodes.FAILURE);
    });
  });
}

/** Starts a detached copy of this command and waits for its verdict. */
function daemonize(): Promise<ExitCode> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      cwd: '/',
      env: { ...process.env, [DAEMON_CHILD_ENV]: '1' },
    });
    let settled = false;
    const finish = (code: ExitCode, text?: string) => {
      if (settled) return;
      settled = true;
      if (text) process.stderr.write(text);
      child.removeAllListeners();
      if (child.connected) child.disconnect();
      child.unref();
      resolve(code);
    };
    child.on('message', (message: ChildReport) => {
      if ('ready' in message) finish(ExitCodes.OK);
      else finish(exitCodeOf(message.code), `portsnare: ${message.error}\n`);
    });
    child.on('exit', (code, signal) =>
      finish(
        exitCodeOf(code || ExitCodes.FAILURE),
        `portsnare: the daemon exited during startup (${signal ?? `status ${code}`})\n`,
      ),
    );
    child.on('error', (err) =>
      finish(ExitCodes.FAILURE, `portsnare: cannot start the daemon: ${err.message}\n`),
    );
  });
}
