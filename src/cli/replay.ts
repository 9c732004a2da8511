/**
 * @module cli/replay
 * `portsnare replay FILE.pcap`: runs a capture file through the same pipeline and detector as the
 * live packet modes and prints what the daemon would have logged, blocked and recorded, in packet
 * time. Nothing is run, written or blocked: responses are dry runs that report success.
 */
import { ExitCodes } from '../exit-codes.ts';
import { readFile } from 'node:fs/promises';
import { hasErrors, formatDiagnostic } from '../config/diagnostic.ts';
import { loadStartupConfig } from '../config/startup-config.ts';
import { PacketPipeline } from '../sensors/packet-pipeline.ts';
import { buildWatchPlan } from '../sensors/watch-plan.ts';
import { Detector } from '../detect/detector.ts';
import type { Mode, ProbeEvent } from '../detect/probe.ts';
import { canonicalAddress } from '../net/address.ts';
import { CidrSet } from '../net/cidr-set.ts';
import { ownAddressSet } from '../net/host-addresses.ts';
import { readPcap } from '../packets/pcap-file.ts';
import type { AlertLog } from '../report/alert-log.ts';
import { alertMessages } from '../report/alert-messages.ts';
import { formatHistoryLine } from '../report/history.ts';
import { formatMessage, type LogMessage } from '../report/messages.ts';
import { syslogTimestamp } from '../report/syslog.ts';
import { ClassicResponder } from '../respond/classic-responder.ts';
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
  const { settings } = startup.loaded;
  const pcap = readPcap(await readFile(cmd.positional ?? ''));

  let now = new Date(0);
  const print = (message: LogMessage) => out.write(`${syslogTimestamp(now)} ${formatMessage(message)}\n`);
  const log: AlertLog = { log: print, close: () => undefined };
  out.write(
    `# replay of ${cmd.positional ?? ''}: modes ${modes.map((m) => `-${m}`).join(' ')}; ` +
      `${locals.length > 0 ? `local addresses ${locals.join(', ')}` : 'every destination counts as local'}\n`,
  );

  const { plan, messages } = buildWatchPlan(settings, modes, () => []);
  for (const message of messages) out.write(`# startup: ${formatMessage(message)}\n`);
  const ignore = new CidrSet();
  for (const entry of startup.ignore.entries) ignore.add(entry.cidr);
  const detector = new Detector(
    { ignore, own: ownAddressSet(locals) },
    {
      scanTrigger: settings.scanTrigger,
      stealthPorts: settings.stealthTriggerPorts,
      stealthWindowMs: settings.stealthTriggerWindow * 1000,
    },
  );
  // BLOCK_BACKEND as the daemon would use it; `auto` is shown as nft (what it picks where nft
  // works). Nothing is run: the nft stand-in only says yes.
  const viaNft = settings.blockBackend !== 'classic';
  const dryNft = { table: 'portsnare', block: () => Promise.resolve(), unblock: () => Promise.resolve() };
  out.write(
    `# blocking as BLOCK_BACKEND=${settings.blockBackend}${settings.blockBackend === 'auto' ? ' (shown as nft)' : ''} would; nothing is run\n`,
  );
  const responder = new ClassicResponder({
    settings: () => settings,
    log,
    run: () => Promise.resolve({ ok: true }),
    addHostsDenyLine: () => Promise.resolve('added'),
    nft: viaNft ? dryNft : null,
    classic: settings.blockBackend === 'classic' || settings.blockBackend === 'both',
  });
  const localSet = new CidrSet();
  for (const address of locals) localSet.addAddress(address);
  const alerts: ProbeEvent[] = [];
  const pipeline = new PacketPipeline(
    plan,
    { isLocal: (a) => locals.length === 0 || localSet.has(a), isServed: () => false },
    (event) => {
      if (detector.judge(event).kind === 'alert') alerts.push(event);
    },
    print,
  );
  const blocked = new Map<string, string>();
  for (const packet of pcap.packets) {
    const timeMs = packet.timestampUs / 1000;
    now = new Date(timeMs);
    pipeline.handle(pcap.linkType, packet.data, timeMs);
    for (const event of alerts.splice(0)) {
      alertMessages(event, event.source).forEach(print);
      if (blocked.has(event.source)) {
        print({ kind: 'alreadyBlocked', mode: event.mode, host: event.source, address: event.source });
        continue;
      }
      await responder.respond({
        address: event.source,
        host: event.source,
        port: event.port,
        mode: event.mode,
        protocol: event.protocol,
        timeoutSeconds: settings.blockTime > 0 ? settings.blockTime : null,
      });
      blocked.set(
        event.source,
        formatHistoryLine({
          time: now,
          host: event.source,
          address: event.source,
          port: event.port,
          protocol: event.protocol,
        }),
      );
    }
  }
  const c = pipeline.counters;
  out.write(`# ${c.packets} packets, ${c.probes} probes, ${blocked.size} host(s) would be blocked\n`);
  out.write(`# malformed: ${JSON.stringify(c.malformed)}; skipped: ${JSON.stringify(c.skipped)}\n`);
  for (const line of blocked.values()) out.write(`# history: ${line}\n`);
  return 0;
}
