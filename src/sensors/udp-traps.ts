/**
 * @module sensors/udp-traps
 * Classic `-udp` traps: one datagram socket per port and address family (0.0.0.0 and :: with
 * IPV6_V6ONLY). Any datagram, even an empty one, is a hit from its source address; the banner, when
 * the daemon returns one, goes back to the sender as in PortSentry 1.2.
 */
import dgram from 'node:dgram';
import { canonicalAddress } from '../net/address.ts';

export interface UdpHit {
  source: string;
  sourcePort: number;
  port: number;
  family: 4 | 6;
}

export interface UdpTrapFailure {
  port: number;
  family: 4 | 6;
  code: string;
  message: string;
}

export interface UdpTrapSet {
  readonly bound: { port: number; family: 4 | 6 }[];
  readonly failed: UdpTrapFailure[];
  close(): Promise<void>;
}

export interface UdpTrapOptions {
  ports: readonly number[];
  families: readonly (4 | 6)[];
  /** Synchronous; returns the banner to send back, or null. */
  onHit(hit: UdpHit): Buffer | null;
  onError(port: number, family: 4 | 6, err: Error): void;
}

function bindOne(port: number, family: 4 | 6): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6', ipv6Only: family === 6 });
    const onError = (err: Error) => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ port, address: family === 4 ? '0.0.0.0' : '::', exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

export async function openUdpTraps(opts: UdpTrapOptions): Promise<UdpTrapSet> {
  const sockets: dgram.Socket[] = [];
  const bound: UdpTrapSet['bound'] = [];
  const failed: UdpTrapFailure[] = [];
  for (const port of opts.ports) {
    const opened: { socket: dgram.Socket; family: 4 | 6 }[] = [];
    const portFailures: UdpTrapFailure[] = [];
    for (const family of opts.families) {
      try {
        opened.push({ socket: await bindOne(port, family), family });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        portFailures.push({ port, family, code: e.code ?? 'EUNKNOWN', message: e.message });
      }
    }
    // A port a service holds on one family is in use: skipped whole, as in tcp-traps.
    const inUse = portFailures.find((f) => f.code === 'EADDRINUSE');
    for (const { socket, family } of opened) {
      if (inUse) {
        socket.close();
        portFailures.push({ port, family, code: 'EADDRINUSE', message: `in use on IPv${inUse.family}` });
        continue;
      }
      const boundPort = socket.address().port;
      socket.on('message', (_msg, rinfo) => {
        const source = canonicalAddress(rinfo.address);
        if (source === null) return;
        const banner = opts.onHit({ source, sourcePort: rinfo.port, port: boundPort, family });
        if (banner && banner.length > 0) socket.send(banner, rinfo.port, rinfo.address);
      });
      socket.on('error', (err) => opts.onError(boundPort, family, err));
      sockets.push(socket);
      bound.push({ port: boundPort, family });
    }
    failed.push(...portFailures);
  }
  return {
    bound,
    failed,
    close: () =>
      Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(
        () => undefined,
      ),
  };
}
