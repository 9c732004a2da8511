/**
 * @module control/server
 * The daemon's control socket: a unix stream socket in STATE_DIR that only root can use. It is
 * created with umask 0177 (so it is 0600 from its first moment) inside the 0700 state directory and
 * owned by the daemon's user (root). A stale socket left by a killed daemon is replaced; a live one
 * (another daemon answering) is an error. One request per connection, one reply, then close.
 *
 * Hostile clients cannot wear it down: a request runs once, whatever the client does after sending
 * it (a half-close used to run it a second time); at most MAX_CONNECTIONS are served at once (more
 * are closed unanswered); a request line must arrive within REQUEST_DEADLINE_MS of connecting, however
 * slowly it trickles; and a failed accept (out of descriptors) is reported, never fatal.
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { chmod, unlink } from 'node:fs/promises';
import { ErrorCodes, PortsnareError, describeError, systemErrorCode } from '../errors.ts';
import type { PeerCheck } from './client.ts';
import { MAX_REQUEST_BYTES, parseRequest, type ControlReply, type ControlRequest } from './protocol.ts';

export type ControlHandler = (request: ControlRequest) => Promise<unknown>;

/** Connections served at once. `portsnare` itself makes one per command. */
export const MAX_CONNECTIONS = 32;
/** From connecting to the end of the request line, however slowly the bytes come. */
export const REQUEST_DEADLINE_MS = 5_000;
/** A reply the client does not read within this is dropped with the connection. */
const REPLY_IDLE_MS = 30_000;
/** Accept errors that mean "not now" (descriptors, memory), not a broken socket. */
const TRANSIENT_ACCEPT_ERRORS = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'ECONNABORTED']);

export interface ControlServerOptions {
  /** Asked for every connection before it is read: why its process may not ask (see control/client's PeerCheck). */
  verifyPeer?: PeerCheck | null;
  /** Default MAX_CONNECTIONS. */
  maxConnections?: number;
  /** Default REQUEST_DEADLINE_MS. */
  requestDeadlineMs?: number;
  /** The listening socket failed after it was open, for good. */
  onError?: (err: Error) => void;
  /** A connection was refused (too many at once) or an accept failed for a while; counted, logged by the caller. */
  onRefused?: (why: 'busy' | 'accept-failed' | 'peer', err?: Error) => void;
}

/** Is something answering on this socket path? */
function answering(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class ControlServer {
  readonly path: string;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(path: string, server: Server) {
    this.path = path;
    this.#server = server;
  }

  /** Refused connections and failed accepts since the start. */
  refused = 0;

  /**
   * `onError` (or `events.onError`): the listening socket failed for good. A transient accept error
   * (EMFILE and the like) goes to `events.onRefused` instead and the server keeps listening.
   */
  static async listen(
    path: string,
    handle: ControlHandler,
    onError: ((err: Error) => void) | ControlServerOptions = () => undefined,
  ): Promise<ControlServer> {
    const events: ControlServerOptions = typeof onError === 'function' ? { onError } : onError;
    const maxConnections = events.maxConnections ?? MAX_CONNECTIONS;
    if (await answering(path)) {
      throw new PortsnareError(ErrorCodes.ALREADY_RUNNING, `another portsnare answers on ${path}`);
    }
    await unlink(path).catch((err: unknown) => {
      if (systemErrorCode(err) !== 'ENOENT') throw err;
    });
    const server = createServer({ allowHalfOpen: true });
    const control = new ControlServer(path, server);
    server.on('connection', (socket) => {
      const distrust = events.verifyPeer?.(socket) ?? null;
      if (distrust !== null) {
        control.refused++;
        // Read and drop what it sends, say why, and close: never leave the connection half open.
        socket.on('error', () => socket.destroy());
        socket.resume();
        socket.setTimeout(1000, () => socket.destroy());
        socket.end(`${JSON.stringify({ ok: false, code: ErrorCodes.PERMISSION, error: distrust })}\n`);
        socket.on('end', () => socket.destroy());
        events.onRefused?.('peer');
        return;
      }
      if (control.#sockets.size >= maxConnections) {
        control.refused++;
        socket.destroy();
        events.onRefused?.('busy');
        return;
      }
      control.#serve(socket, handle, events.requestDeadlineMs ?? REQUEST_DEADLINE_MS);
    });
    const previous = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(previous);
    }
    server.on('error', (err) => {
      if (TRANSIENT_ACCEPT_ERRORS.has(systemErrorCode(err) ?? '')) {
        control.refused++;
        events.onRefused?.('accept-failed', err);
      } else events.onError?.(err);
    });
    await chmod(path, 0o600);
    server.unref();
    return control;
  }

  #serve(socket: Socket, handle: ControlHandler, deadlineMs: number): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const deadline = setTimeout(() => socket.destroy(), deadlineMs);
    deadline.unref();
    socket.on('close', () => clearTimeout(deadline));
    let buffered = '';
    // `requested`: the one request of this connection was taken (whatever comes after is ignored);
    // `answered`: its reply was sent.
    let requested = false;
    let answered = false;
    const reply = (message: ControlReply) => {
      if (answered) return;
      answered = true;
      requested = true;
      clearTimeout(deadline);
      socket.setTimeout(REPLY_IDLE_MS, () => socket.destroy());
      socket.end(`${JSON.stringify(message)}\n`);
    };
    const onRequest = (line: string) => {
      if (requested) return;
      requested = true;
      // The handler may take long (a flush of a million bans): no deadline while it runs.
      clearTimeout(deadline);
      let request: ControlRequest;
      try {
        request = parseRequest(line);
      } catch (err) {
        reply({ ok: false, code: ErrorCodes.USAGE, error: describeError(err) });
        return;
      }
      handle(request).then(
        (result) => reply({ ok: true, result }),
        (err: unknown) =>
          reply({
            ok: false,
            code: err instanceof PortsnareError ? err.code : ErrorCodes.COMMAND_FAILED,
            error: describeError(err),
          }),
      );
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (requested) return;
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline >= 0) onRequest(buffered.slice(0, newline));
      else if (buffered.length > MAX_REQUEST_BYTES) {
        reply({ ok: false, code: ErrorCodes.USAGE, error: `request longer than ${MAX_REQUEST_BYTES} bytes` });
      }
    });
    socket.on('end', () => {
      if (requested) return;
      if (buffered.length > 0) onRequest(buffered);
      else reply({ ok: false, code: ErrorCodes.USAGE, error: 'empty request' });
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await unlink(this.path).catch(() => undefined);
  }
}
