/**
 * @module sensors/packet
 * The stealth and advanced modes' sensor: one libpcap capture (all interfaces, or INTERFACE) whose
 * filter admits only packets to this host's addresses and watched ports, the packet pipeline, the
 * kernel's socket table for "is a service there?", and libpcap's drop counters reported.
 */
import { asError, ErrorCodes, PortsnareError } from '../errors.ts';
import { CidrSet } from '../net/cidr-set.ts';
import type { Mode, ProbeEvent } from '../detect/probe.ts';
import { loadNative } from '../native.ts';
import { buildFilter } from './bpf.ts';
import { openCapture, type CaptureHandle } from './capture.ts';
import { SocketTable } from './socket-table.ts';
import { PacketPipeline } from './packet-pipeline.ts';
import type { TrapSummary, Sensor, SensorContext } from './sensor.ts';
import { buildWatchPlan } from './watch-plan.ts';

const STATS_INTERVAL_MS = 60_000;
/**
 * Reading the kernel's TCP socket table costs ~8 ms even on an idle host (it walks a hash table all
 * namespaces share), so per-packet checks use a view up to a second old, and an alert is confirmed
 * by a trial bind (or, where that cannot answer, a view at most 50 ms old) before it is acted on.
 */
const TABLE_MAX_AGE_MS = 1000;
const CONFIRM_MAX_AGE_MS = 50;

export class PacketSensor implements Sensor {
  readonly name = 'capture';
  readonly #ctx: SensorContext;
  readonly #modes: readonly Mode[];
  readonly #table: SocketTable;
  #local = new CidrSet();
  #pipeline: PacketPipeline | null = null;
  #capture: CaptureHandle | null = null;
  #statsTimer: NodeJS.Timeout | null = null;
  #reportedDrops = 0;
  #confirmedServed = 0;

  constructor(
    ctx: SensorContext,
    modes: readonly Mode[],
    table = new SocketTable({ minRefreshMs: TABLE_MAX_AGE_MS }),
  ) {
    this.#ctx = ctx;
    this.#modes = modes;
    this.#table = table;
  }

  start(): Promise<void> {
    const { log } = this.#ctx;
    this.#table.refresh();
    const { plan, messages, error } = buildWatchPlan(this.#ctx.settings(), this.#modes, (protocol, limit) =>
      this.#table.servedPorts(protocol, limit),
    );
    for (const message of messages) log.log(message);
    if (error) return Promise.reject(new PortsnareError(ErrorCodes.NO_TRAP_PORT, error));

    const addresses = this.#ctx.localAddresses();
    this.#local = localSet(addresses);
    this.#pipeline = new PacketPipeline(
      plan,
      {
        isLocal: (destination) => this.#local.hasWords(destination),
        isServed: (protocol, destination, port) => this.#table.isServed(protocol, destination, port),
      },
      (probe) => this.#ctx.onPacketProbe(probe, this.#confirmEvent),
      (message) => log.log(message),
    );
    const device = this.#ctx.settings().interface ?? 'any';
    const filter = buildFilter(plan, addresses);
    try {
      this.#capture = openCapture({
        device,
        filter,
        onPackets: (linkType, packets) => {
          const pipeline = this.#pipeline;
          if (!pipeline) return;
          for (const packet of packets) pipeline.handle(linkType, packet.data, packet.timestampUs / 1000);
        },
      });
    } catch (err) {
      log.log({ kind: 'captureFailed', reason: (err as Error).message });
      return Promise.reject(asError(err, ErrorCodes.CAPTURE));
    }
    log.log({ kind: 'captureOpened', device, filter });
    this.#statsTimer = setInterval(() => this.#reportDrops(), STATS_INTERVAL_MS);
    this.#statsTimer.unref();
    return Promise.resolve();
  }

  readonly #confirmEvent = (event: ProbeEvent): boolean => this.#confirm(event);

  /**
   * Before an alert is acted on: is the port still free? A trial bind of the packet's own destination
   * answers exactly and in microseconds; the socket table (at most 50 ms old) is the fallback.
   */
  #confirm(event: ProbeEvent): boolean {
    const destination = event.destination ?? '';
    const probe = loadNative().portInUse(event.protocol, destination, event.port);
    const served =
      probe === 'unknown'
        ? this.#table.isServed(event.protocol, destination, event.port, CONFIRM_MAX_AGE_MS)
        : probe === 'in-use';
    if (served) this.#confirmedServed++;
    return !served;
  }

  addressesChanged(addresses: readonly string[]): void {
    if (!this.#pipeline || !this.#capture) return;
    this.#local = localSet(addresses);
    this.#capture.setFilter(buildFilter(this.#pipeline.plan, addresses));
  }

  #reportDrops(): void {
    const stats = this.#capture?.stats();
    if (!stats || !this.#pipeline) return;
    const dropped = stats.dropped + stats.ifDropped;
    if (dropped > this.#reportedDrops) {
      this.#reportedDrops = dropped;
      this.#ctx.log.log({
        kind: 'captureDrops',
        dropped,
        received: stats.received,
        malformed: this.#pipeline.malformedTotal,
      });
    }
  }

  counters() {
    const stats = this.#capture?.stats() ?? { received: 0, dropped: 0, ifDropped: 0 };
    const c = this.#pipeline?.counters;
    return {
      captured: stats.received,
      captureDropped: stats.dropped + stats.ifDropped,
      packets: c?.packets ?? 0,
      probes: c?.probes ?? 0,
      malformed: this.#pipeline?.malformedTotal ?? 0,
      ...Object.fromEntries(Object.entries(c?.skipped ?? {}).map(([k, v]) => [`skipped.${k}`, v ?? 0])),
      socketTableRefreshes: this.#table.refreshes,
      servedOnConfirm: this.#confirmedServed,
    };
  }

  traps(): TrapSummary[] {
    const plan = this.#pipeline?.plan;
    if (!plan) return [];
    return [plan.tcp, plan.udp]
      .filter((w) => w !== null)
      .map((w) =>
        w.ports
          ? { mode: w.mode, ports: [...w.ports].sort((a, b) => a - b) }
          : { mode: w.mode, ports: null, below: w.below, exclude: [...w.exclude].sort((a, b) => a - b) },
      );
  }

  close(): Promise<void> {
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    this.#capture?.close();
    this.#capture = null;
    return Promise.resolve();
  }
}

function localSet(addresses: readonly string[]): CidrSet {
  const set = new CidrSet();
  for (const address of addresses) set.addAddress(address);
  return set;
}
