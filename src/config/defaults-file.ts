/**
 * @module config/defaults-file
 * Debian's /etc/default/portsentry: `TCP_MODE="tcp|stcp|atcp"` and `UDP_MODE="udp|sudp|audp"`, empty for
 * "do not start". Read when no mode flag is given; where Debian's init script started two daemons,
 * portsnare runs both modes in one process.
 */
import { systemErrorCode } from '../errors.ts';
import type { Mode } from '../detect/probe.ts';
import type { Diagnostic } from './diagnostic.ts';
import { readFailure, readRegularFile } from './read-file.ts';

export const DEFAULT_DEFAULTS_PATH = '/etc/default/portsentry';
export const BUILT_IN_MODES: readonly Mode[] = ['tcp', 'udp'];

export interface ModesFromDefaults {
  path: string | null;
  modes: Mode[];
  diagnostics: Diagnostic[];
}

const ALLOWED = { TCP_MODE: ['tcp', 'stcp', 'atcp'], UDP_MODE: ['udp', 'sudp', 'audp'] } as const;

export function parseDefaultsText(path: string, text: string): ModesFromDefaults {
  const diagnostics: Diagnostic[] = [];
  const found = new Map<'TCP_MODE' | 'UDP_MODE', { value: string; line: number }>();
  (text.startsWith('\uFEFF') ? text.slice(1) : text).split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const match =
      /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|'([^']*)'|([^\s#"']*))\s*(?:#.*)?$/.exec(line);
    if (!match) {
      diagnostics.push({
        severity: 'warning',
        file: path,
        line: index + 1,
        message: 'not a NAME="value" line; ignored',
      });
      return;
    }
    const name = match[1];
    if (name === 'TCP_MODE' || name === 'UDP_MODE') {
      // The init script sources the file, so a later assignment wins.
      found.set(name, { value: match[2] ?? match[3] ?? match[4] ?? '', line: index + 1 });
    }
  });
  const modes: Mode[] = [];
  for (const name of ['TCP_MODE', 'UDP_MODE'] as const) {
    const entry = found.get(name);
    const value = entry ? entry.value : name === 'TCP_MODE' ? 'tcp' : 'udp';
    if (value === '') continue;
    if (!(ALLOWED[name] as readonly string[]).includes(value)) {
      diagnostics.push({
        severity: 'error',
        file: path,
        line: entry?.line ?? 0,
        key: name,
        message: `${value} is not a valid mode (expected ${ALLOWED[name].join(', ')} or empty)`,
      });
      continue;
    }
    modes.push(value as Mode);
  }
  if (modes.length === 0 && !diagnostics.some((d) => d.severity === 'error')) {
    diagnostics.push({
      severity: 'error',
      file: path,
      line: 0,
      message: 'no modes: TCP_MODE and UDP_MODE are both empty',
    });
  }
  return { path, modes, diagnostics };
}

/** Reads the defaults file; a missing file at the default path means the built-in modes (tcp and udp). */
export async function loadModesFromDefaults(explicitPath: string | undefined): Promise<ModesFromDefaults> {
  const path = explicitPath ?? DEFAULT_DEFAULTS_PATH;
  try {
    return parseDefaultsText(path, await readRegularFile(path));
  } catch (err) {
    const code = systemErrorCode(err);
    if (code === 'ENOENT' && explicitPath === undefined)
      return { path: null, modes: [...BUILT_IN_MODES], diagnostics: [] };
    return {
      path,
      modes: [],
      diagnostics: [
        {
          severity: 'error',
          file: path,
          line: 0,
          message: readFailure(err),
        },
      ],
    };
  }
}
