/**
 * @module cli/replay
 * `portsnare replay FILE.pcap`: runs a capture file through the daemon's own assembled stack (the
 * same pipeline, detector, alert path, block-rate cap and ban keeper as the live packet modes) and
 * prints what the daemon would have logged, blocked and recorded, in packet time. Nothing is run or
 * blocked and no file of the configuration is written: the backends are dry runs that report
 * success, the history and blocked files are kept in memory, and the ban store is a scratch one.
 */
import { ExitCodes, type ExitCode } from '../exit-codes.ts';
import { mkdtemp, rm } from 'node:fs/promises';
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
import type { PcapPacket } from '../packets/pcap-file.ts';
import { openPcapStream } from '../packets/pcap-stream.ts';
import { formatMessage } from '../report/messages.ts';
import { Reporter } from '../report/reporter.ts';
import { StreamSink } from '../report/sinks/stream-sink.ts';

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
  /** The capture: read whole (tests) or streamed from disk (the command). */
  pcap: { linkType: number; packets: Iterable<PcapPacket> | AsyncIterable<PcapPacket> };
  out: NodeJS.WritableStream;
}

/** What `portsnare replay` was given, typed by its command definition (cli/commands/replay). */
export interface ReplayRequest {
  file: string;
  modes: Mode[];
  configPath: string | undefined;
  defaultsPath: string | undefined;
  locals: readonly string[];
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
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
      { isLocal: (a) => locals.length === 0 || localSet.hasWords(a), isServed: () => false },
      (probe) => stack.alerts.onPacketProbe(probe),
      (message) => reporter.log(message),
    );
    for await (const packet of opts.pcap.packets) {
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
    const table = stack.detector.table();
    out.write(
      `# detector: ${table.tracked} source(s) tracked in a table of ${table.slots} slots (${(table.bytes / 1048576).toFixed(1)} MiB)\n`,
    );
    for (const line of lines) out.write(`# history: ${line}\n`);
  } finally {
    await stack.bans.close();
    await rm(scratch, { recursive: true, force: true });
  }
  return stack;
}

export async function replayCommand(req: ReplayRequest): Promise<ExitCode> {
  const { out, err } = req;
  const startup = await loadStartupConfig({
    modes: req.modes,
    configPath: req.configPath,
    defaultsPath: req.defaultsPath,
  });
  for (const d of startup.diagnostics) err.write(`portsnare: ${formatDiagnostic(d)}\n`);
  if (hasErrors(startup.diagnostics)) return ExitCodes.CONFIG;
  const locals: string[] = [];
  for (const text of req.locals) {
    const address = canonicalAddress(text);
    if (!address) {
      err.write(`portsnare: --local ${text}: not an IP address\n`);
      return ExitCodes.USAGE;
    }
    locals.push(address);
  }
  const modes = [...new Set(startup.modes.map((m) => PACKET_MODE[m]))];
  // Streamed: memory stays bounded whatever the file's size (a whole 1.2 GB capture cost 1.29 GB).
  const pcap = await openPcapStream(req.file);
  out.write(
    `# replay of ${req.file}: modes ${modes.map((m) => `-${m}`).join(' ')}; ` +
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
  // A record that cannot be read is not the end of the capture: say where it stopped, and fail.
  const problem = pcap.problem();
  if (problem === null) return ExitCodes.OK;
  const where = `record ${problem.record} at byte ${problem.offset}`;
  out.write(`# stopped at ${where}: ${problem.reason}\n`);
  err.write(`portsnare: ${req.file}: ${where}: ${problem.reason}; the rest of the file was not read\n`);
  return ExitCodes.FAILURE;
}
