/**
 * @module decide/alert-path
 * What happens to a probe once a sensor saw it: the detector's verdict, counted; ignore-list
 * sources reaching the trigger only counted, silent as in 1.2; the automatic never-block sources
 * (own addresses, gateways, resolvers, not a peer) said once per interval (decide/refusals); an alert logged with
 * 1.2's lines and answered at most once per host at a time (later hits wait for that outcome and
 * then say "already blocked" unless it failed); at most MAX_PENDING_ALERTS handled at once; the
 * MAX_BLOCKS_PER_MINUTE cap, one budget per evidence kind (forged packets or datagrams can never
 * spend what completed handshakes are allowed); a host already banned or listed in a blocked file is "already
 * blocked"; a successful ban recorded (history and blocked files, via the reporter, before the ban
 * is settled in the store). The response
 * itself is the ban keeper's; what is logged where is the reporter's.
 */
import type { Settings } from '../config/settings.ts';
import type { Detector, IgnoreReason, Verdict } from '../detect/detector.ts';
import type { PacketProbe } from '../detect/packet-probe.ts';
import type { BackgroundState } from '../detect/sequential-test.ts';
import { protocolOf, type EvidenceKind, type ProbeEvent } from '../detect/probe.ts';
import { describeError, ErrorCodes, PortsnareError } from '../errors.ts';
import { alertMessages } from '../report/alert-messages.ts';
import { formatHistoryLine } from '../report/history.ts';
import type { Reporter } from '../report/reporter.ts';
import type { BlockedLedger } from '../report/sinks/blocked-files-sink.ts';
import type { BanKeeper } from '../respond/ban-keeper.ts';
import { BlockRate } from '../respond/block-rate.ts';
import { CAPPED_BY_EVIDENCE, newAlertCounters, type AlertCounters } from './counters.ts';
import { ForgeryWatch } from './forgery-watch.ts';
import { RefusalLog } from './refusals.ts';

/** Alerts being handled at once (resolving, responding, recording); beyond it they are counted and dropped. */
export const MAX_PENDING_ALERTS = 10_000;

type Outcome = 'blocked' | 'already' | 'failed';

export interface AlertPathDeps {
  detector: Pick<Detector, 'judge'> & Partial<Pick<Detector, 'background' | 'judgePacket'>>;
  /** Why a listed address is never blocked, for the refusal line. */
  neverBlock: { reason(address: string, why: IgnoreReason): string };
  /** The ban keeper (null until the ban store is open). */
  bans: () => Pick<BanKeeper, 'has' | 'ban'> | null;
  /** The blocked files, for 1.2's "already blocked" test. */
  ledger: BlockedLedger;
  report: Pick<Reporter, 'log' | 'blocked'>;
  settings: () => Settings;
  /** RESOLVE_HOST's lookup. */
  resolver: { nameOf(address: string): Promise<string> };
  /** The clock of the block-rate cap (wall clock in the daemon, packet time in replay). */
  now: () => number;
  maxPending?: number;
  refusals?: RefusalLog;
}

/** A stored ban's scan type: 1.2's scan label, `Connect` (classic TCP) or `UDP scan`. */
export function scanTypeOf(event: ProbeEvent): string {
  if (event.mode === 'tcp') return 'Connect';
  if (event.protocol === 'udp') return 'UDP scan';
  return (event.label ?? 'TCP scan').trim();
}

export class AlertPath {
  readonly counters: AlertCounters = newAlertCounters();
  readonly #deps: AlertPathDeps;
  readonly #maxPending: number;
  readonly #refusals: RefusalLog;
  readonly #forgery: ForgeryWatch;
  readonly #background: () => BackgroundState | null;
  /** One MAX_BLOCKS_PER_MINUTE budget per evidence kind. */
  #blockRates: Record<EvidenceKind, BlockRate>;
  readonly #pending = new Map<string, Promise<Outcome>>();
  readonly #inflight = new Set<Promise<void>>();

  constructor(deps: AlertPathDeps) {
    this.#deps = deps;
    this.#maxPending = deps.maxPending ?? MAX_PENDING_ALERTS;
    this.#refusals = deps.refusals ?? new RefusalLog();
    this.#forgery = new ForgeryWatch(deps.settings().sequentialIdleThreshold);
    this.#background = () => deps.detector.background?.() ?? null;
    this.#blockRates = blockRates(deps.settings().maxBlocksPerMinute);
  }

  /** Hosts whose response is under way. */
  get pendingResponses(): number {
    return this.#pending.size;
  }

  /** MAX_BLOCKS_PER_MINUTE changed (SIGHUP): every evidence kind's cap starts afresh. */
  setBlockLimit(limit: number): void {
    if (limit !== this.#blockRates.handshake.limit) this.#blockRates = blockRates(limit);
  }

  /** A sensor's hit: judged synchronously; returns the banner to send (classic modes) or null. */
  onProbe(event: ProbeEvent, confirm?: () => boolean): Buffer | null {
    this.counters.hits++;
    const verdict = this.#deps.detector.judge(event);
    if (event.evidence === 'packet') this.#watchForgery(event.time, verdict.kind === 'alert');
    return this.#act(event, verdict, confirm);
  }

  /**
   * The capture's hit, in the packet path's numeric form (valid only during this call): judged
   * without making an event unless the verdict needs one (a refusal or an alert). `confirm` is
   * asked as in `onProbe`, with that event.
   */
  onPacketProbe(probe: PacketProbe, confirm?: (event: ProbeEvent) => boolean): void {
    this.counters.hits++;
    const { detector } = this.#deps;
    const verdict = detector.judgePacket ? detector.judgePacket(probe) : detector.judge(probe.toEvent());
    this.#watchForgery(probe.time, verdict?.kind === 'alert');
    if (verdict === null || verdict.kind === 'below-trigger') {
      this.counters.belowTrigger++;
      return;
    }
    if (verdict.kind === 'ignored') {
      this.counters.ignored++;
      return;
    }
    const event = probe.toEvent();
    this.#act(event, verdict, confirm && (() => confirm(event)));
  }

  #watchForgery(time: number, alert: boolean): void {
    const summary = this.#forgery.probe(time, alert, this.#background);
    if (summary) this.#deps.report.log(summary);
  }

  #act(event: ProbeEvent, verdict: Verdict, confirm: (() => boolean) | undefined): Buffer | null {
    const { counters } = this;
    if (verdict.kind === 'ignored') {
      counters.ignored++;
      return null;
    }
    if (verdict.kind === 'refused' && verdict.reason === 'ignore-list') {
      // 1.2 kept the ignore list silent: counted, never logged.
      counters.ignoredListed++;
      return null;
    }
    if (verdict.kind === 'refused') {
      counters.refused++;
      if (this.#refusals.shouldLog(event.source, event.time)) {
        this.#deps.report.log({
          kind: 'refusedBlock',
          address: event.source,
          reason: this.#deps.neverBlock.reason(event.source, verdict.reason),
          intervalSeconds: this.#refusals.intervalMs / 1000,
        });
      }
      return null;
    }
    if (verdict.kind === 'below-trigger' || (confirm && !confirm())) {
      counters.belowTrigger++;
      return null;
    }
    counters.alerts++;
    if (this.#inflight.size >= this.#maxPending) {
      counters.alertsDropped++;
      return null;
    }
    const task = this.#handle(event, verdict.ports ?? [event.port]).catch((err: unknown) =>
      this.#deps.report.log({
        kind: 'sensorError',
        protocol: event.protocol,
        port: event.port,
        reason: describeError(err),
      }),
    );
    this.#inflight.add(task);
    void task.finally(() => this.#inflight.delete(task));
    const banner = this.#deps.settings().portBanner;
    return banner ? Buffer.from(banner) : null;
  }

  /** Resolves when every alert handled so far is done (replay waits after each packet). */
  async settled(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  /** Lets running alerts finish, for at most `ms` (shutdown). */
  async drain(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inflight]),
      new Promise((resolve) => (timer = setTimeout(resolve, ms).unref())),
    ]);
    clearTimeout(timer);
  }

  async #handle(event: ProbeEvent, ports: number[]): Promise<void> {
    const { report } = this.#deps;
    const address = event.source;
    const host = this.#deps.settings().resolveHost ? await this.#deps.resolver.nameOf(address) : address;
    for (const message of alertMessages(event, host)) report.log(message);
    const alreadyBlocked = () => report.log({ kind: 'alreadyBlocked', mode: event.mode, host, address });

    const inflight = this.#pending.get(address);
    if (inflight) {
      if ((await inflight) !== 'failed') alreadyBlocked();
      return;
    }
    const decision = this.#respondOnce(event, host, ports);
    this.#pending.set(address, decision);
    try {
      if ((await decision) === 'already') alreadyBlocked();
    } finally {
      this.#pending.delete(address);
    }
  }

  async #respondOnce(event: ProbeEvent, host: string, ports: number[]): Promise<Outcome> {
    const keeper = this.#deps.bans();
    if (!keeper) throw new PortsnareError(ErrorCodes.STARTING, 'the ban store is not open yet');
    if (keeper.has(event.source) || (await this.#deps.ledger.has(event.source))) return 'already';
    if (!this.#mayBlock(event)) return 'failed';
    const settings = this.#deps.settings();
    const line = formatHistoryLine({
      time: new Date(event.time),
      host,
      address: event.source,
      port: event.port,
      protocol: event.protocol,
    });
    const outcome = await keeper.ban({
      address: event.source,
      host,
      port: event.port,
      mode: event.mode,
      protocol: protocolOf(event.mode),
      ports,
      scanType: scanTypeOf(event),
      seconds: settings.blockTime > 0 ? settings.blockTime : null,
      origin: 'detection',
      evidence: event.evidence,
      // History and blocked file, written before the ban is settled in the store: a settled ban
      // has its line; one a crash left pending gets it at the next start if it is missing.
      record: () => this.#deps.report.blocked({ line, address: event.source, mode: event.mode }),
    });
    if (!outcome.ok) {
      this.counters.failedResponses++;
      return 'failed';
    }
    this.counters.blocks++;
    return 'blocked';
  }

  /** The cap on new blocks of the event's evidence kind; log-only settings (BLOCK_x=0) are never capped. */
  #mayBlock(event: ProbeEvent): boolean {
    const settings = this.#deps.settings();
    const level = event.protocol === 'tcp' ? settings.blockTcp : settings.blockUdp;
    if (level === 0) return true;
    const { evidence } = event;
    const rate = this.#blockRates[evidence];
    const decision = rate.take(this.#deps.now());
    const limit = rate.limit;
    if (decision.allowed) {
      if (decision.report)
        this.#deps.report.log({
          kind: 'blockCapSummary',
          limit,
          evidence,
          suppressed: decision.report.suppressed,
        });
      return true;
    }
    this.counters.blocksCapped++;
    this.counters[CAPPED_BY_EVIDENCE[evidence]]++;
    if (evidence === 'packet') this.#forgery.capped();
    if (decision.report) this.#deps.report.log({ kind: 'blockCapReached', limit, evidence });
    return false;
  }
}

/** A fresh MAX_BLOCKS_PER_MINUTE budget of `limit` for each evidence kind. */
function blockRates(limit: number): Record<EvidenceKind, BlockRate> {
  return { handshake: new BlockRate(limit), datagram: new BlockRate(limit), packet: new BlockRate(limit) };
}
