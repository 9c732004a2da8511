/**
 * @module config/load-settings
 * Reads portsentry.conf from disk into LoadedSettings without ever blocking: the file is read with
 * config/read-file (O_NONBLOCK, a regular file only, bounded size), so a FIFO or a device given as
 * `--config` is a clear error instead of a hang. No file at the default path means built-in
 * defaults; a named file must exist.
 */
import { systemErrorCode } from '../errors.ts';
import { parseConfText } from './conf-file.ts';
import { readFailure, readRegularFile } from './read-file.ts';
import { DEFAULT_CONFIG_PATH, settingsFromConf, type LoadedSettings } from './settings.ts';

/** `explicitPath` is what --config named; without it the default path is tried. */
export async function loadSettingsFile(explicitPath: string | undefined): Promise<LoadedSettings> {
  const path = explicitPath ?? DEFAULT_CONFIG_PATH;
  let text: string;
  try {
    text = await readRegularFile(path);
  } catch (err) {
    if (systemErrorCode(err) === 'ENOENT' && explicitPath === undefined) return settingsFromConf(null);
    const loaded = settingsFromConf(null);
    loaded.diagnostics.push({ severity: 'error', file: path, line: 0, message: readFailure(err) });
    return loaded;
  }
  return settingsFromConf(parseConfText(path, text));
}
