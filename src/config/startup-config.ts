/**
 * @module config/startup-config
 * Everything a start needs to know before it touches anything: the modes (from flags, else the
 * defaults file, else tcp+udp), the settings, the ignore file, and every problem found in them.
 * `run` and `check-config` share it, so check-config finds exactly what would stop a start.
 */
import type { Mode } from '../detect/probe.ts';
import type { Diagnostic } from './diagnostic.ts';
import { loadModesFromDefaults } from './defaults-file.ts';
import { loadIgnoreFile, type IgnoreFile } from './ignore-file.ts';
import { loadSettings, type LoadedSettings } from './settings.ts';

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
  const loaded = await loadSettings(opts.configPath);
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
  return { modes, modesFrom, loaded, ignore, diagnostics };
}
