/**
 * @module config/settings
 * The effective settings: built-in defaults (Debian's portsentry.conf) overlaid with a parsed
 * portsentry.conf, each value checked, each problem reported with file, line and key. Also loads the
 * file from disk: no file at the default path means built-in defaults; a named file must exist.
 */
import { isAbsolute } from 'node:path';
import { parseCommandTemplate, hasTargetMacro, type CommandTemplate } from './command-template.ts';
import type { ConfFile } from './conf-file.ts';
import type { ScanDetector } from '../detect/detector.ts';
import type { Diagnostic } from './diagnostic.ts';
import { KEY_DEFINITIONS, type KeyDefinition } from './keys.ts';
import { parsePortList } from './port-list.ts';
import { readReportSettings, type ReportSettings } from './report-keys.ts';
import { deriveUnkillRoute } from './unkill-route.ts';

export const DEFAULT_CONFIG_PATH = '/etc/portsentry/portsentry.conf';

export type BlockLevel = 0 | 1 | 2;
export type BlockBackendSetting = 'auto' | 'nft' | 'classic' | 'both';
export { MAX_BLOCK_TIME } from './keys.ts';

export interface Settings extends ReportSettings {
  tcpPorts: number[];
  udpPorts: number[];
  advancedPortsTcp: number;
  advancedPortsUdp: number;
  advancedExcludeTcp: number[];
  advancedExcludeUdp: number[];
  ignoreFile: string;
  historyFile: string;
  blockedFile: string;
  resolveHost: boolean;
  blockTcp: BlockLevel;
  blockUdp: BlockLevel;
  killRoute: CommandTemplate | null;
  killHostsDeny: string | null;
  killRunCmd: CommandTemplate | null;
  killRunCmdFirst: boolean;
  scanTrigger: number;
  portBanner: string | null;
  interface: string | null;
  stealthTriggerPorts: number;
  maxBlocksPerMinute: number;
  /** Seconds. */
  stealthTriggerWindow: number;
  hostsDenyFile: string;
  syslogSocket: string;
  syslogIdent: string;
  stateDir: string;
  blockBackend: BlockBackendSetting;
  /** Seconds; 0 = until unblocked. */
  blockTime: number;
  /** UNKILL_ROUTE as written, or derived from KILL_ROUTE; null: routes stay. */
  unkillRoute: CommandTemplate | null;
  /** True when unkillRoute was derived rather than written. */
  unkillRouteDerived: boolean;
  maxTrackedSources: number;
  scanDetector: ScanDetector;
  /** Per hour. */
  sequentialFalseAlarms: number;
  /** Probes per hour. */
  sequentialIdleRate: number;
  sequentialIdleThreshold: number;
}

/** Where each effective value came from, for check-config. */
export interface SettingSource {
  key: string;
  value: string;
  origin: 'default' | { file: string; line: number };
}

export interface LoadedSettings {
  /** Path of the file read, or null when running on built-in defaults. */
  path: string | null;
  settings: Settings;
  sources: SettingSource[];
  diagnostics: Diagnostic[];
}

function toInteger(text: string): number | null {
  const trimmed = text.trim();
  return /^\d{1,15}$/.test(trimmed) ? Number(trimmed) : null;
}

/**
 * The longest PORT_BANNER (bytes of UTF-8) portsnare sends. PortSentry 1.2 read config lines of at
 * most 1023 bytes and so silently cut a longer banner; portsnare refuses a longer one instead of
 * cutting it (a banner is written to every classic-mode hit, so it is also a traffic multiplier).
 */
export const MAX_PORT_BANNER_BYTES = 1023;

/** Builds settings from a parsed file (or from nothing: pure defaults). */
export function settingsFromConf(conf: ConfFile | null): LoadedSettings {
  const diagnostics: Diagnostic[] = conf ? [...conf.diagnostics] : [];
  const sources: SettingSource[] = [];
  const file = conf?.path ?? '(built-in defaults)';

  const raw = (def: KeyDefinition): { value: string; line: number } => {
    const entry = conf?.entries.get(def.name);
    if (entry) {
      sources.push({ key: def.name, value: entry.value, origin: { file, line: entry.line } });
      return { value: entry.value, line: entry.line };
    }
    sources.push({ key: def.name, value: def.default, origin: 'default' });
    return { value: def.default, line: 0 };
  };
  const problem = (severity: Diagnostic['severity'], line: number, key: string, message: string) =>
    diagnostics.push({ severity, file, line, key, message });

  const values = new Map<string, unknown>();
  for (const def of KEY_DEFINITIONS) {
    const { value, line } = raw(def);
    switch (def.kind) {
      case 'ports': {
        const result = parsePortList(value);
        result.errors.forEach((e) => problem('error', line, def.name, e));
        result.warnings.forEach((w) => problem('warning', line, def.name, w));
        values.set(def.name, result.ports);
        break;
      }
      case 'count':
      case 'flag':
      case 'block': {
        const n = toInteger(value);
        if (n === null) {
          problem(
            'error',
            line,
            def.name,
            `"${value}" is not a whole number (PortSentry 1.2 would read it as 0)`,
          );
          values.set(def.name, toInteger(def.default) ?? 0);
        } else if (def.range && (n < def.range.min || n > def.range.max)) {
          problem(
            'error',
            line,
            def.name,
            `${n} is out of range: must be ${def.range.min} to ${def.range.max} (${def.range.why})`,
          );
          values.set(def.name, toInteger(def.default) ?? 0);
        } else {
          values.set(def.name, def.kind === 'flag' ? n !== 0 : n);
        }
        break;
      }
      case 'path':
        if (!isAbsolute(value)) problem('error', line, def.name, `"${value}" is not an absolute path`);
        values.set(def.name, value);
        break;
      case 'template':
        values.set(def.name, value === '' ? null : value);
        break;
      case 'text':
        values.set(def.name, value);
        break;
      case 'choice':
        if (!def.choices?.includes(value)) {
          problem('error', line, def.name, `"${value}" is not one of ${def.choices?.join(', ') ?? ''}`);
          values.set(def.name, def.default);
        } else {
          values.set(def.name, value);
        }
        break;
    }
  }
  const get = <T>(key: string): T => values.get(key) as T;
  const lineOf = (key: string): number => conf?.entries.get(key)?.line ?? 0;

  const commandTemplate = (key: string): CommandTemplate | null => {
    const text = get<string | null>(key);
    if (text === null) return null;
    const parsed = parseCommandTemplate(text);
    if (!parsed.ok) {
      problem('error', lineOf(key), key, parsed.reason);
      return null;
    }
    return parsed.template;
  };

  const settings: Settings = {
    tcpPorts: get('TCP_PORTS'),
    udpPorts: get('UDP_PORTS'),
    advancedPortsTcp: get('ADVANCED_PORTS_TCP'),
    advancedPortsUdp: get('ADVANCED_PORTS_UDP'),
    advancedExcludeTcp: get('ADVANCED_EXCLUDE_TCP'),
    advancedExcludeUdp: get('ADVANCED_EXCLUDE_UDP'),
    ignoreFile: get('IGNORE_FILE'),
    historyFile: get('HISTORY_FILE'),
    blockedFile: get('BLOCKED_FILE'),
    resolveHost: get('RESOLVE_HOST'),
    blockTcp: get('BLOCK_TCP'),
    blockUdp: get('BLOCK_UDP'),
    killRoute: commandTemplate('KILL_ROUTE'),
    killHostsDeny: get('KILL_HOSTS_DENY'),
    killRunCmd: commandTemplate('KILL_RUN_CMD'),
    killRunCmdFirst: get('KILL_RUN_CMD_FIRST'),
    scanTrigger: get('SCAN_TRIGGER'),
    portBanner: get<string>('PORT_BANNER') === '' ? null : get('PORT_BANNER'),
    interface: get<string>('INTERFACE') === '' ? null : get('INTERFACE'),
    stealthTriggerPorts: get('STEALTH_TRIGGER_PORTS'),
    maxBlocksPerMinute: get('MAX_BLOCKS_PER_MINUTE'),
    stealthTriggerWindow: get('STEALTH_TRIGGER_WINDOW'),
    hostsDenyFile: get('HOSTS_DENY_FILE'),
    syslogSocket: get('SYSLOG_SOCKET'),
    syslogIdent: get('SYSLOG_IDENT'),
    stateDir: get('STATE_DIR'),
    blockBackend: get('BLOCK_BACKEND'),
    blockTime: get('BLOCK_TIME'),
    unkillRoute: commandTemplate('UNKILL_ROUTE'),
    unkillRouteDerived: false,
    maxTrackedSources: get('MAX_TRACKED_SOURCES'),
    scanDetector: get('SCAN_DETECTOR'),
    sequentialFalseAlarms: get('SEQUENTIAL_FALSE_ALARMS'),
    sequentialIdleRate: get('SEQUENTIAL_IDLE_RATE'),
    sequentialIdleThreshold: get('SEQUENTIAL_IDLE_THRESHOLD'),
    ...readReportSettings(get, (key, message) => problem('error', lineOf(key), key, message)),
  };
  if (settings.unkillRoute === null && get<string | null>('UNKILL_ROUTE') === null && settings.killRoute) {
    settings.unkillRoute = deriveUnkillRoute(settings.killRoute);
    settings.unkillRouteDerived = settings.unkillRoute !== null;
  }
  const unkillText = get<string | null>('UNKILL_ROUTE');
  if (unkillText !== null && !hasTargetMacro(unkillText)) {
    problem(
      'error',
      lineOf('UNKILL_ROUTE'),
      'UNKILL_ROUTE',
      'has no $TARGET$ macro, so it could never unblock anyone',
    );
  }
  if (
    settings.blockTime > 0 &&
    settings.killRoute &&
    !settings.unkillRoute &&
    settings.blockBackend !== 'nft'
  ) {
    problem(
      'warning',
      lineOf('KILL_ROUTE'),
      'KILL_ROUTE',
      'BLOCK_TIME is set but UNKILL_ROUTE is empty and cannot be derived from this command: routes it adds will stay when bans end',
    );
  }

  for (const key of ['KILL_ROUTE', 'KILL_HOSTS_DENY'] as const) {
    const text = get<string | null>(key);
    if (text !== null && !hasTargetMacro(text)) {
      problem('error', lineOf(key), key, 'has no $TARGET$ macro, so it could never block anyone');
    }
  }
  if (settings.interface !== null && !/^[A-Za-z0-9._@:-]{1,15}$/.test(settings.interface)) {
    problem('error', lineOf('INTERFACE'), 'INTERFACE', `"${settings.interface}" is not an interface name`);
  }
  for (const key of ['ADVANCED_PORTS_TCP', 'ADVANCED_PORTS_UDP'] as const) {
    const limit = get<number>(key);
    if (limit === 0) problem('warning', lineOf(key), key, 'is 0: advanced mode would watch no port');
  }
  const bannerBytes = Buffer.byteLength(settings.portBanner ?? '', 'utf8');
  if (bannerBytes > MAX_PORT_BANNER_BYTES) {
    problem(
      'error',
      lineOf('PORT_BANNER'),
      'PORT_BANNER',
      `is ${bannerBytes} bytes; the limit is ${MAX_PORT_BANNER_BYTES} (PortSentry 1.2 silently cut it at its 1023-byte line length; portsnare does not cut it)`,
    );
  }
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(settings.syslogIdent)) {
    problem('error', lineOf('SYSLOG_IDENT'), 'SYSLOG_IDENT', 'must be 1-32 letters, digits, ".", "_" or "-"');
  }
  for (const [key, level] of [
    ['BLOCK_TCP', settings.blockTcp],
    ['BLOCK_UDP', settings.blockUdp],
  ] as const) {
    if (level === 1 && !settings.killRoute && !settings.killHostsDeny && !settings.killRunCmd) {
      problem(
        'warning',
        lineOf(key),
        key,
        'is 1 but KILL_ROUTE, KILL_HOSTS_DENY and KILL_RUN_CMD are all empty',
      );
    }
    if (level === 2 && !settings.killRunCmd) {
      problem('warning', lineOf(key), key, 'is 2 but KILL_RUN_CMD is empty, so nothing will run');
    }
  }
  return { path: conf?.path ?? null, settings, sources, diagnostics };
}

/** The Settings property a key sets: its name in camelCase (`ADVANCED_PORTS_TCP` → `advancedPortsTcp`). */
export function settingName(key: string): keyof Settings {
  return key.toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()) as keyof Settings;
}

/**
 * A reload (SIGHUP): `after`, except that keys marked needsRestart keep their `before` value;
 * `changed` names those whose new value must wait for a restart.
 */
export function applyReload(before: Settings, after: Settings): { settings: Settings; changed: string[] } {
  const settings: Record<string, unknown> = { ...after };
  const changed: string[] = [];
  for (const def of KEY_DEFINITIONS) {
    if (!def.needsRestart) continue;
    const name = settingName(def.name);
    if (JSON.stringify(before[name]) !== JSON.stringify(after[name])) changed.push(def.name);
    settings[name] = before[name];
  }
  return { settings: settings as unknown as Settings, changed };
}

/** Path of a mode's blocked file: BLOCKED_FILE plus the mode, as in 1.2 (`portsentry.blocked.tcp`). */
export function blockedFilePath(settings: Settings, mode: string): string {
  return `${settings.blockedFile}.${mode}`;
}
