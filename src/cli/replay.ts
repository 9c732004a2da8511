/**
 * @module cli/replay
 * `portsnare replay FILE.pcap`: runs a capture file through the daemon's own assembled stack (the
 * same pipeline, detector, alert path, block-rate cap and ban keeper as the live packet modes) and
 * prints what the daemon would have logged, blocked and recorded, in packet time. Nothing is run or
 * blocked and no file of the configuration is written: the backends are dry runs that report
 * success, the history and blocked files are kept in memory, and the ban store is a scratch one.
 */
import { ExitCodes } from '../exit-codes.ts';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasErrors, formatDiagnostic } from '../config/diagnostic.ts';
import type { IgnoreFile } from '../config/ignore-file.ts';
import type { Settings } from '../config/settings.ts';
import { loadStartupConfig } from '../config/startup-config.ts';
import { assemble } from '../daemon/assemble.ts';
import { DryRun } from '../daemon/dry-run.ts';
import { PacketPipeline } from '../sensors/packet-pipeline.ts';
import type { Stack } from '../daemon/stack.ts';
import { buildWatchPlan } from '../sensors/watch-plan.ts';
import type { Mode } from '../detect/probe.ts';
import { canonicalAddress } from '../net/address.ts';
import { CidrSet } from '../net/cidr-set.ts';
import { readPcap, type PcapFile } from '../packets/pcap-file.ts';
import { formatMessage } from '../report/messages.ts';
import { Reporter } from '../report/reporter.ts';
import { StreamSink } from '../report/sinks/stream-sink.ts';
import type { ParsedCommandLine } from './command.ts';

/** Classic modes have no packets to replay; their stealth counterparts watch the same ports. */
const PACKET_MODE: Record<Mode, Mode> = {
  tcp: 'stcp',
  udp: 'sudp',
  stcp: 'stcp',
  sudp: 'sudp',
  atcp: 'atcp',
  audp: 'audp',
};

export interface ReplayOptions {
  settings: Settings;
  ignore: IgnoreFile;
  /** Packet modes. */
  modes: readonly Mode[];
  /** The sensor's addresses; none: every destination counts as local. */
  locals: readonly string[];
  pcap: PcapFile;
  out: NodeJS.WritableStream;
}

/**
 * Runs the capture through an assembled stack (dry-run backends, packet-time clock) and prints
 * what happens. Returns the stack, closed, for its counters, bans and dry-run record.
 */
export async function replayCapture(opts: ReplayOptions): Promise<Stack> {
  const { settings, modes, locals, out } = opts;
  let now = 0;
  // Refusals of never-block sources are left out of the printout, as replay always did.
  const reporter = new Reporter(
    [new StreamSink(out, '', (m) => m.kind === 'refusedBlock')],
    () => new Date(now),
  );
  const { plan, messages } = buildWatchPlan(settings, modes, () => []);
  for (const message of messages) out.write(`# startup: ${formatMessage(message)}\n`);
  out.write(
    `# blocking as BLOCK_BACKEND=${settings.blockBackend}${settings.blockBackend === 'auto' ? ' (shown as nft)' : ''} would; nothing is run\n`,
  );
  const scratch = await mkdtemp(join(tmpdir(), 'portsnare-replay-'));
  const stack = assemble({
    modes,
    settings,
    ignore: opts.ignore,
    reporter,
    records: 'memory',
    dryRun: new DryRun(),
    // Whole milliseconds, as the ban store keeps them.
    clock: () => Math.floor(now),
    hosts: { addresses: () => [...locals], guarded: () => [] },
    resolver: { nameOf: (address) => Promise.resolve(address) },
    storeDir: join(scratch, 'bans'),
  });
  try {
    const { keeper } = await stack.bans.open();
    const localSet = new CidrSet();
    for (const address of locals) localSet.addAddress(address);
    const pipeline = new PacketPipeline(
      plan,
      { isLocal: (a) => locals.length === 0 || localSet.has(a), isServed: () => false },
      (event) => void stack.alerts.onProbe(event),
      (message) => reporter.log(message),
    );
    for (const packet of opts.pcap.packets) {
      now = packet.timestampUs / 1000;
      await keeper.expire(Math.floor(now));
      pipeline.handle(opts.pcap.linkType, packet.data, now);
      await stack.alerts.settled();
    }
    const lines = stack.records?.lines ?? [];
    const hosts = new Set(stack.records?.records.map((r) => r.address));
    const c = pipeline.counters;
    out.write(`# ${c.packets} packets, ${c.probes} probes, ${hosts.size} host(s) would be blocked\n`);
    out.write(`# malformed: ${JSON.stringify(c.malformed)}; skipped: ${JSON.stringify(c.skipped)}\n`);
    for (const line of lines) out.write(`# history: ${line}\n`);
  } finally {
    await stack.bans.close();
    await rm(scratch, { recursive: true, force: true });
  }
  return stack;
}

export async function replayCommand(cmd: ParsedCommandLine, out: NodeJS.WritableStream): Promise<number> {
  const startup = await loadStartupConfig({
    modes: cmd.modes,
    configPath: cmd.options['config'] as string | undefined,
    defaultsPath: cmd.options['defaults-file'] as string | undefined,
  });
  for (const d of startup.diagnostics) process.stderr.write(`portsnare: ${formatDiagnostic(d)}\n`);
  if (hasErrors(startup.diagnostics)) return ExitCodes.CONFIG;
  const locals: string[] = [];
  for (const text of (cmd.options['local'] as string[] | undefined) ?? []) {
    const address = canonicalAddress(text);
    if (!address) {
      process.stderr.write(`portsnare: --local ${text}: not an IP address\n`);
      return ExitCodes.USAGE;
    }
    locals.push(address);
  }
  const modes = [...new Set(startup.modes.map((m) => PACKET_MODE[m]))];
  const pcap = readPcap(await readFile(cmd.positional ?? ''));
  out.write(
    `# replay of ${cmd.positional ?? ''}: modes ${modes.map((m) => `-${m}`).join(' ')}; ` +
      `${locals.length > 0 ? `local addresses ${locals.join(', ')}` : 'every destination counts as local'}\n`,
  );
  await replayCapture({
    settings: startup.loaded.settings,
    ignore: startup.ignore,
    modes,
    locals,
    pcap,
    out,
  });
  return ExitCodes.OK;
}
