/**
 * @module config/startup-config
 * Everything a start needs to know before it touches anything: the modes (from flags, else the
 * defaults file, else tcp+udp), the settings, the ignore file, and every problem found in them.
 * `run` and `check-config` share it, so check-config finds exactly what would stop a start: also
 * wrong path types and an untrustworthy STATE_DIR (config/path-checks). Also the
 * limit on how many ports the classic modes bind (one socket, so one descriptor, per port).
 */
import type { Mode } from '../detect/probe.ts';
import type { Diagnostic } from './diagnostic.ts';
import { loadModesFromDefaults } from './defaults-file.ts';
import { loadIgnoreFile, type IgnoreFile } from './ignore-file.ts';
import { loadSettingsFile } from './load-settings.ts';
import { checkPaths, stateDirTrustDiagnostics } from './path-checks.ts';
import type { LoadedSettings } from './settings.ts';

/**
 * The most ports the classic modes (-tcp and -udp together) may bind: one socket per port. Node
 * raises the soft RLIMIT_NOFILE to the hard limit at start; the smallest hard limit still common
 * (4096, older distributions and containers) minus 1024 descriptors kept for the control socket,
 * its clients, captures, logs and state files. Stealth and advanced modes bind nothing and have no
 * such limit.
 */
export const MAX_CLASSIC_PORTS = 3072;

/** Errors for classic-mode port lists that would need more than MAX_CLASSIC_PORTS sockets. */
export function classicPortLimit(modes: readonly Mode[], loaded: LoadedSettings): Diagnostic[] {
  const { settings } = loaded;
  const file = loaded.path ?? '(built-in defaults)';
  const lineOf = (key: string): number => {
    const origin = loaded.sources.find((s) => s.key === key)?.origin;
    return origin && origin !== 'default' ? origin.line : 0;
  };
  const lists = [
    { mode: 'tcp', key: 'TCP_PORTS', count: settings.tcpPorts.length },
    { mode: 'udp', key: 'UDP_PORTS', count: settings.udpPorts.length },
  ].filter((l) => modes.includes(l.mode as Mode));
  const total = lists.reduce((sum, l) => sum + l.count, 0);
  if (total <= MAX_CLASSIC_PORTS) return [];
  const what = lists.map((l) => `${l.key} ${l.count}`).join(' + ');
  return lists
    .filter((l) => l.count > 0)
    .map((l) => ({
      severity: 'error' as const,
      file,
      line: lineOf(l.key),
      key: l.key,
      message: `classic mode would bind ${total} ports (${what}); the limit is ${MAX_CLASSIC_PORTS} sockets, one file descriptor each (use stealth or advanced modes, which bind none, to watch more)`,
    }));
}

export interface StartupConfig {
  modes: Mode[];
  /** 'command line', 'built-in default', or the defaults file's path. */
  modesFrom: string;
  loaded: LoadedSettings;
  ignore: IgnoreFile;
  diagnostics: Diagnostic[];
}

export async function loadStartupConfig(opts: {
  modes: Mode[];
  configPath?: string | undefined;
  defaultsPath?: string | undefined;
}): Promise<StartupConfig> {
  const diagnostics: Diagnostic[] = [];
  let modes = opts.modes;
  let modesFrom = 'command line';
  if (modes.length === 0) {
    const fromDefaults = await loadModesFromDefaults(opts.defaultsPath);
    diagnostics.push(...fromDefaults.diagnostics);
    modes = fromDefaults.modes;
    modesFrom = fromDefaults.path ?? 'built-in default';
  }
  const loaded = await loadSettingsFile(opts.configPath);
  diagnostics.push(...loaded.diagnostics);
  const ignore = await loadIgnoreFile(loaded.settings.ignoreFile);
  diagnostics.push(...ignore.diagnostics);

  const file = loaded.path ?? '(built-in defaults)';
  if (modes.includes('tcp') && loaded.settings.tcpPorts.length === 0) {
    diagnostics.push({
      severity: 'error',
      file,
      line: 0,
      key: 'TCP_PORTS',
      message: 'no TCP ports to watch in -tcp mode',
    });
  }
  if (modes.includes('udp') && loaded.settings.udpPorts.length === 0) {
    diagnostics.push({
      severity: 'error',
      file,
      line: 0,
      key: 'UDP_PORTS',
      message: 'no UDP ports to watch in -udp mode',
    });
  }
  diagnostics.push(...classicPortLimit(modes, loaded));
  // Wrong file types (a FIFO as HISTORY_FILE froze the daemon) and a STATE_DIR others can write to
  // (a planted pid-file symlink or journal) stop a start before anything is opened.
  diagnostics.push(...checkPaths(loaded), ...stateDirTrustDiagnostics(loaded));
  return { modes, modesFrom, loaded, ignore, diagnostics };
}
