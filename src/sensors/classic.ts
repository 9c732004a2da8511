/**
 * @module sensors/classic
 * The classic modes' sensors: `-tcp` traps (native accept, exact peer) and `-udp` traps, with
 * PortSentry 1.2's startup lines and the right port numbers on bind failures.
 */
import type { Protocol } from '../detect/probe.ts';
import { asError, describeError, ErrorCodes, PortsnareError } from '../errors.ts';
import type { AlertLog } from '../report/alert-log.ts';
import { openTcpTraps, type TcpTrapSet } from './tcp-traps.ts';
import { openUdpTraps, type UdpTrapSet } from './udp-traps.ts';
import type { Sensor, SensorContext } from './sensor.ts';

/** 1.2's per-port listen/bind-failure lines; IPv6 being unavailable is said once. Throws if none bound. */
export function logBinds(
  log: AlertLog,
  protocol: Protocol,
  ports: readonly number[],
  bound: readonly { port: number; family: 4 | 6 }[],
  failed: readonly { port: number; family: 4 | 6; code: string }[],
): void {
  const v6Unavailable = failed.filter(
    (f) => f.family === 6 && (f.code === 'EAFNOSUPPORT' || f.code === 'EADDRNOTAVAIL'),
  );
  const ipv6Missing = v6Unavailable.length === ports.length;
  if (ipv6Missing)
    log.log({ kind: 'ipv6Unavailable', protocol, reason: v6Unavailable[0]?.code ?? 'unknown' });
  for (const port of ports) {
    const ok = bound.filter((b) => b.port === port);
    const bad = failed.filter((f) => f.port === port && !(ipv6Missing && f.family === 6));
    if (ok.length === 0) {
      log.log({ kind: 'bindFailed', protocol, port });
      continue;
    }
    log.log({ kind: 'listen', protocol, port });
    for (const f of bad)
      log.log({ kind: 'bindFailedFamily', protocol, family: f.family, port, reason: f.code });
  }
  if (bound.length === 0) {
    log.log({ kind: 'bindNone', protocol });
    throw new PortsnareError(ErrorCodes.NO_TRAP_PORT, `could not bind any ${protocol.toUpperCase()} port`);
  }
}

export class ClassicTcpSensor implements Sensor {
  readonly name = 'tcp';
  readonly #ctx: SensorContext;
  #traps: TcpTrapSet | null = null;
  #hits = 0;

  constructor(ctx: SensorContext) {
    this.#ctx = ctx;
  }

  start(): Promise<void> {
    const ports = this.#ctx.settings().tcpPorts;
    if (ports.length === 0) {
      this.#ctx.log.log({ kind: 'noPorts', protocol: 'tcp' });
      return Promise.reject(new PortsnareError(ErrorCodes.NO_TRAP_PORT, 'no TCP ports'));
    }
    const traps = openTcpTraps({
      ports,
      families: [4, 6],
      onHit: (hit) => {
        this.#hits++;
        return this.#ctx.onProbe({
          mode: 'tcp',
          protocol: 'tcp',
          evidence: 'handshake',
          source: hit.source,
          port: hit.port,
          time: Date.now(),
        });
      },
      onAcceptError: (port) => this.#ctx.log.log({ kind: 'acceptFailed', port }),
    });
    this.#traps = traps;
    try {
      logBinds(this.#ctx.log, 'tcp', ports, traps.bound, traps.failed);
    } catch (err) {
      return Promise.reject(asError(err, ErrorCodes.NO_TRAP_PORT));
    }
    return Promise.resolve();
  }

  counters() {
    return { connections: this.#hits, traps: this.#traps?.bound.length ?? 0 };
  }

  traps() {
    const ports = [...new Set((this.#traps?.bound ?? []).map((b) => b.port))].sort((a, b) => a - b);
    return [{ mode: this.name, ports }];
  }

  close(): Promise<void> {
    this.#traps?.close();
    this.#traps = null;
    return Promise.resolve();
  }
}

export class ClassicUdpSensor implements Sensor {
  readonly name = 'udp';
  readonly #ctx: SensorContext;
  #traps: UdpTrapSet | null = null;
  #hits = 0;

  constructor(ctx: SensorContext) {
    this.#ctx = ctx;
  }

  async start(): Promise<void> {
    const ports = this.#ctx.settings().udpPorts;
    if (ports.length === 0) {
      this.#ctx.log.log({ kind: 'noPorts', protocol: 'udp' });
      throw new PortsnareError(ErrorCodes.NO_TRAP_PORT, 'no UDP ports');
    }
    this.#traps = await openUdpTraps({
      ports,
      families: [4, 6],
      onHit: (hit) => {
        this.#hits++;
        return this.#ctx.onProbe({
          mode: 'udp',
          protocol: 'udp',
          evidence: 'datagram',
          source: hit.source,
          port: hit.port,
          time: Date.now(),
        });
      },
      onError: (port, _family, err) =>
        this.#ctx.log.log({ kind: 'sensorError', protocol: 'udp', port, reason: describeError(err) }),
    });
    logBinds(this.#ctx.log, 'udp', ports, this.#traps.bound, this.#traps.failed);
  }

  counters() {
    return { datagrams: this.#hits, traps: this.#traps?.bound.length ?? 0 };
  }

  traps() {
    const ports = [...new Set((this.#traps?.bound ?? []).map((b) => b.port))].sort((a, b) => a - b);
    return [{ mode: this.name, ports }];
  }

  async close(): Promise<void> {
    await this.#traps?.close();
    this.#traps = null;
  }
}
