/**
 * @module sensors/tcp-traps
 * Classic `-tcp` mode's trap ports: opens one native listening socket per (port, family), attributes
 * every accepted connection to its real source address, sends the optional banner and closes it.
 * Owns: TCP trap binding and per-connection handling. Not: deciding what a hit means, logging,
 * blocking (the caller's onHit / onAcceptError and the failures it gets back).
 */
import { canonicalAddress } from '../net/address.ts';
import { isNativeSystemError, loadNative, type NativeModule, type NativeTcpTrap } from '../native.ts';

export interface TcpConnectHit {
  source: string;
  sourcePort: number;
  port: number;
  family: 4 | 6;
}

export interface TcpTrapFailure {
  port: number;
  family: 4 | 6;
  code: string;
  message: string;
}

export interface TcpTrapSet {
  readonly bound: { port: number; family: 4 | 6 }[];
  readonly failed: TcpTrapFailure[];
  close(): void;
}

export interface TcpTrapOptions {
  /** In config order; may contain 0 in tests (ephemeral port). */
  ports: readonly number[];
  /** Normally [4, 6]. */
  families: readonly (4 | 6)[];
  /** listen() backlog; default 5, as PortSentry. */
  backlog?: number;
  /** Synchronous; returns the banner to send, or null. The connection is closed afterwards. */
  onHit(hit: TcpConnectHit): Buffer | null;
  onAcceptError(port: number, family: 4 | 6, code: string): void;
}

const DEFAULT_BACKLOG = 5;

/**
 * The canonical text of a peer address as inet_ntop gave it (IPv4-mapped IPv6 becomes IPv4), or
 * null if it is not an address at all (the addon gives '' for an unknown address family).
 */
export function canonicalSource(address: string): string | null {
  return canonicalAddress(address);
}

/**
 * Binds every port for every family, independently: a failure is recorded in `failed` with the port
 * that was actually attempted and does not stop the others. IPv6 being unavailable
 * (EAFNOSUPPORT, EADDRNOTAVAIL) is just another failure; the caller decides what to log.
 * Errors that are not system errors (bad arguments, missing addon) close what was opened and throw.
 */
export function openTcpTraps(opts: TcpTrapOptions): TcpTrapSet {
  const native = loadNative();
  const backlog = opts.backlog ?? DEFAULT_BACKLOG;
  const traps: NativeTcpTrap[] = [];
  const bound: { port: number; family: 4 | 6 }[] = [];
  const failed: TcpTrapFailure[] = [];
  const closeAll = (): void => {
    for (const trap of traps) trap.close();
  };

  for (const requested of opts.ports) {
    const opened: { trap: NativeTcpTrap; family: 4 | 6 }[] = [];
    const portFailures: TcpTrapFailure[] = [];
    for (const family of opts.families) {
      try {
        opened.push({ trap: openOne(native, opts, family, requested, backlog), family });
      } catch (err) {
        if (!isNativeSystemError(err)) {
          for (const o of opened) o.trap.close();
          closeAll();
          throw err;
        }
        portFailures.push({ port: requested, family, code: err.code, message: err.message });
      }
    }
    // A port a service holds on one family is in use: trapping the other family would block that
    // service's own clients when they arrive over it (happy eyeballs), so the port is skipped whole.
    const inUse = portFailures.find((f) => f.code === 'EADDRINUSE');
    for (const o of opened) {
      if (inUse) {
        o.trap.close();
        portFailures.push({
          port: requested,
          family: o.family,
          code: 'EADDRINUSE',
          message: `in use on IPv${inUse.family}`,
        });
      } else {
        traps.push(o.trap);
        bound.push({ port: o.trap.port, family: o.family });
      }
    }
    failed.push(...portFailures);
  }
  return { bound, failed, close: closeAll };
}

function openOne(
  native: NativeModule,
  opts: TcpTrapOptions,
  family: 4 | 6,
  requested: number,
  backlog: number,
): NativeTcpTrap {
  // Set once the trap exists; the callback cannot run before the constructor has returned.
  let port = requested;
  const trap = new native.TcpTrap(family, requested, backlog, (connFd, peerAddress, peerPort, errorCode) => {
    if (connFd < 0) {
      opts.onAcceptError(port, family, errorCode ?? 'UNKNOWN');
      return;
    }
    const source = canonicalSource(peerAddress);
    if (source === null) {
      native.finishConnection(connFd, null);
      opts.onAcceptError(port, family, 'EBADPEER');
      return;
    }
    let banner: Buffer | null;
    try {
      banner = opts.onHit({ source, sourcePort: peerPort, port, family });
    } catch (err) {
      // Close first so the fd cannot leak, then rethrow synchronously: we are called straight from
      // the event loop, so the addon hands the exception to process 'uncaughtException', where the
      // daemon's handler sees it like any other bug. Swallowing it would hide a broken onHit.
      native.finishConnection(connFd, null);
      throw err;
    }
    native.finishConnection(connFd, banner);
  });
  port = trap.port;
  return trap;
}
