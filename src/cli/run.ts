/**
 * @module cli/run
 * `portsnare [-tcp] [-udp]`: checks the whole configuration first (any error: exit 78 before anything
 * is bound or blocked), then either stays attached (--foreground) or starts a detached copy of itself
 * and exits 0 once that copy reports it is listening, or non-zero with its reason if it could not.
 */
import { ExitCodes } from '../exit-codes.ts';
import { spawn } from 'node:child_process';
import { diagnosticWhere, formatDiagnostic, hasErrors } from '../config/diagnostic.ts';
import { loadStartupConfig, type StartupConfig } from '../config/startup-config.ts';
import { assemble } from '../daemon/assemble.ts';
import { Daemon } from '../daemon/daemon.ts';
import { describeError } from '../errors.ts';
import { createAlertLog } from '../report/alert-log.ts';
import { logDiagnostics } from '../report/config-problems.ts';
import type { Reporter } from '../report/reporter.ts';
import { SyslogWriter } from '../report/syslog.ts';
import { loadIgnoreFile } from '../config/ignore-file.ts';
import { loadSettings } from '../config/settings.ts';
import type { ParsedCommandLine } from './parse.ts';

const DAEMON_CHILD_ENV = 'PORTSNARE_DAEMON_CHILD';

type ChildReport = { ready: true } | { error: string; code: number };

export async function runCommandLine(cmd: ParsedCommandLine): Promise<number> {
  const isChild = process.env[DAEMON_CHILD_ENV] === '1';
  const foreground = cmd.options['foreground'] === true;
  const startup = await loadStartupConfig({
    modes: cmd.modes,
    configPath: cmd.options['config'] as string | undefined,
    defaultsPath: cmd.options['defaults-file'] as string | undefined,
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
  return runDaemon(startup, foreground && !isChild, isChild);
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

async function runDaemon(startup: StartupConfig, mirror: boolean, isChild: boolean): Promise<number> {
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
      const loaded = await loadSettings(startup.loaded.path ?? undefined);
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

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (code: number) => {
      if (stopping) return;
      stopping = true;
      void daemon.stop().finally(() => {
        log.close();
        resolve(code);
      });
    };
    process.on('SIGTERM', () => stop(0));
    process.on('SIGINT', () => stop(0));
    process.on('SIGHUP', () => void daemon.reload());
    process.on('SIGUSR1', () => daemon.logCounters());
    process.on('SIGPIPE', () => undefined);
    let crashed = false;
    process.on('uncaughtException', (err) => {
      // Once: an error raised while reporting an error must not loop.
      if (crashed) process.exit(1);
      crashed = true;
      log.log({ kind: 'internalError', reason: describeError(err) });
      stop(1);
    });
  });
}

/** Starts a detached copy of this command and waits for its verdict. */
function daemonize(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      cwd: '/',
      env: { ...process.env, [DAEMON_CHILD_ENV]: '1' },
    });
    let settled = false;
    const finish = (code: number, text?: string) => {
      if (settled) return;
      settled = true;
      if (text) process.stderr.write(text);
      child.removeAllListeners();
      if (child.connected) child.disconnect();
      child.unref();
      resolve(code);
    };
    child.on('message', (message: ChildReport) => {
      if ('ready' in message) finish(0);
      else finish(message.code, `portsnare: ${message.error}\n`);
    });
    child.on('exit', (code, signal) =>
      finish(code || 1, `portsnare: the daemon exited during startup (${signal ?? `status ${code}`})\n`),
    );
    child.on('error', (err) => finish(1, `portsnare: cannot start the daemon: ${err.message}\n`));
  });
}
