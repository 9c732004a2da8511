/**
 * @module daemon/assemble
 * The one place the pipeline is put together from settings: sensors → detector → alert path →
 * responder and backends → ban keeper and store → reporter (with the history and blocked files as
 * sinks). The daemon, the control commands when no daemon runs, and `replay` all assemble here, with
 * options for what differs: dry-run backends, history and blocked files on disk or in memory, the
 * clock (wall clock, or packet time in replay), the host's addresses. Nothing is opened or started
 * here (daemon/ services and the callers do that).
 */
import type { IgnoreFile } from '../config/ignore-file.ts';
import { blockedFilePath, type Settings } from '../config/settings.ts';
import { Detector } from '../detect/detector.ts';
import type { Mode } from '../detect/probe.ts';
import { AlertPath } from '../decide/alert-path.ts';
import { LIVE_HOST, NeverBlock, type HostAddressSource } from '../decide/never-block.ts';
import type { Reporter } from '../report/reporter.ts';
import { BlockedFilesSink, type BlockedLedger } from '../report/sinks/blocked-files-sink.ts';
import { HistoryFileSink } from '../report/sinks/history-file-sink.ts';
import { MemoryRecordsSink } from '../report/sinks/memory-records-sink.ts';
import { runCommand } from '../respond/exec.ts';
import { addHostsDenyLine, addHostsDenyLines, removeHostsDenyLines } from '../respond/hosts-deny.ts';
import type { Ban } from '../state/ban-store.ts';
import { statePaths } from '../state/state-dir.ts';
import { Bans, type ResponderIo } from './bans.ts';
import { resolveBlockBackend, type ResolvedBackend } from './block-backend.ts';
import { sensorsFor } from '../sensors/registry.ts';
import type { DryRun } from './dry-run.ts';
import { Resolver } from './resolver.ts';
import { Stack, triggerSettings, type SensorFactory } from './stack.ts';

export interface AssembleOptions {
  modes: readonly Mode[];
  settings: Settings;
  ignore: IgnoreFile;
  /** Where messages go (syslog, the stderr mirror, replay's printout); file sinks are added to it. */
  reporter: Reporter;
  /**
   * `files` (default): HISTORY_FILE and each mode's blocked file, as the daemon keeps them;
   * `memory`: the same lines kept in memory (dry runs); `none`: no records (control commands).
   */
  records?: 'files' | 'memory' | 'none';
  /** Backends that record what they would do (their recorder) instead of doing it. */
  dryRun?: DryRun | null;
  /** Chooses the backends; default BLOCK_BACKEND (the dry run's stand-ins with `dryRun`). */
  backend?: (settings: Settings) => Promise<ResolvedBackend>;
  /** Clock (ms) of the block-rate cap, the ban keeper and the store; default Date.now. */
  clock?: () => number;
  /** The host's own addresses, gateways and resolvers; default: read from the live host. */
  hosts?: HostAddressSource;
  /** RESOLVE_HOST's lookup; default the system resolver. */
  resolver?: { nameOf(address: string): Promise<string> };
  sensors?: SensorFactory;
  /** The ban store's directory; default STATE_DIR/bans. */
  storeDir?: string;
}

/** BLOCK_BACKEND as the daemon resolves it: nft's table is made at the first ban when nothing blocks by itself. */
export function daemonBackend(settings: Settings): Promise<ResolvedBackend> {
  return resolveBlockBackend(settings.blockBackend, settings.blockTcp !== 1 && settings.blockUdp !== 1);
}

const REAL_IO: ResponderIo = {
  run: (argv) => runCommand(argv),
  addHostsDenyLine,
  addHostsDenyLines,
  removeHostsDenyLines,
};

export function assemble(opts: AssembleOptions): Stack {
  const { modes, reporter } = opts;
  const cell = { value: opts.settings };
  const settings = () => cell.value;
  const current = opts.settings;
  const clock = opts.clock ?? Date.now;
  const dryRun = opts.dryRun ?? null;

  let ledger: BlockedLedger;
  let records: MemoryRecordsSink | null = null;
  let history: HistoryFileSink | null = null;
  const mode = opts.records ?? 'files';
  if (mode === 'files') {
    const paths = new Map(modes.map((m) => [m, blockedFilePath(current, m)] as const));
    const blocked = new BlockedFilesSink(paths, reporter);
    history = new HistoryFileSink(current.historyFile, reporter);
    reporter.add(history).add(blocked);
    ledger = blocked;
  } else {
    records = new MemoryRecordsSink();
    if (mode === 'memory') reporter.add(records);
    ledger = records;
  }

  const neverBlock = new NeverBlock(opts.ignore, opts.hosts ?? LIVE_HOST);
  const detector = new Detector(neverBlock.lists(), triggerSettings(current));
  // The never-block test of a new ban (the detector's lists as last refreshed), for stored ones.
  const refuse = (address: string): string | null => {
    const verdict = detector.listed(address);
    return verdict === null ? null : neverBlock.reason(address, verdict);
  };
  const historySink = history;
  // Who hears of a new ban (the daemon's alert mail subscribes through the stack).
  const banListeners = new Set<(ban: Ban) => void>();
  const bans = new Bans({
    settings,
    log: reporter,
    io: dryRun ?? REAL_IO,
    backend: opts.backend ?? (dryRun ? (s) => Promise.resolve(dryRun.backend(s)) : daemonBackend),
    storeDir: opts.storeDir ?? statePaths(current.stateDir).bans,
    now: opts.clock,
    onLifted: (addresses) => reporter.lifted(addresses),
    onBanned: (ban) => {
      for (const listener of banListeners) listener(ban);
    },
    refuse,
    recordCutOff: historySink ? (bans) => historySink.repair(bans) : undefined,
  });
  const alerts = new AlertPath({
    detector,
    neverBlock,
    bans: () => bans.keeper,
    ledger,
    report: reporter,
    settings,
    resolver: opts.resolver ?? new Resolver(),
    now: clock,
  });
  const stack = new Stack({
    modes,
    settings: cell,
    reporter,
    neverBlock,
    detector,
    alerts,
    bans,
    records,
    dryRun,
    sensorFactory: opts.sensors ?? sensorsFor,
    banListeners,
  });
  return stack;
}
